# One image for every role of the services mode: web (ASGI), worker, beat, migrate.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends libgeos-c1v5 curl \
    && rm -rf /var/lib/apt/lists/* && useradd --create-home --uid 1000 liandong
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN mkdir -p /data && chown liandong /data \
    && SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v 0
USER liandong
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
