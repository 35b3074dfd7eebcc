"""Is a running Liandong alive, from outside its processes? `scripts/services check` runs this.

    python scripts/check_services.py URL TOKEN NEIGHBOUR_TOKEN

On the demo cluster, TOKEN is an API client of Shenzhen (440300) and NEIGHBOUR_TOKEN one of
Dongguan (441900). In order, each check printed as it holds, the first that does not ends the
run with exit status 1:

1. `/readyz` answers 200 (database, channel layer and broker reachable);
2. the login page and `/api/docs/` answer 200, and so does the style sheet the login page links
   (the static files are collected and served);
3. a websocket subscriber of the neighbour is connected and greeted;
4. Shenzhen's system reports a level III flood that crosses into Dongguan, and the neighbour's
   subscriber receives its `incident.created` (a worker dispatched it);
5. the playbook started for it: the neighbour owes an acknowledgement (a worker ran the engine).

It reports a real incident: run it on a fresh installation, not on a cluster in service.
Only requirements.txt is needed (httpx, websockets).
"""

import json
import re
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urljoin

import httpx
from websockets.sync.client import connect

WAIT_SECONDS = 60

# Near the Shenzhen-Dongguan border on the demo map: reported from Shenzhen, the area reaches Dongguan.
FLOOD = {
    "title": "Liandong services check: flood on the Shenzhen-Dongguan border",
    "category": "natural_disaster",
    "type": "flood",
    "level": "III",
    "location": {"lat": 22.70, "lon": 113.95},
    "affected_area": {"type": "Polygon", "coordinates": [[
        [113.85, 22.65], [114.05, 22.65], [114.05, 22.85], [113.85, 22.85], [113.85, 22.65],
    ]]},
}


class CheckFailed(Exception):
    pass


def ok(what: str) -> None:
    print(f"ok   {what}", flush=True)


def expect_200(client: httpx.Client, path: str) -> httpx.Response:
    response = client.get(path)
    if response.status_code != 200:
        raise CheckFailed(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    ok(f"GET {path} 200")
    return response


def check(base: str, token: str, neighbour_token: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        expect_200(client, "/readyz")
        login = expect_200(client, "/login/")
        stylesheet = re.search(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', login.text)
        if not stylesheet:
            raise CheckFailed("the login page links no style sheet")
        expect_200(client, urljoin("/login/", stylesheet.group(1)))
        expect_200(client, "/api/docs/")

        ws_url = re.sub(r"^http", "ws", base.rstrip("/")) + "/ws/v1/stream/"
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {neighbour_token}"},
                     open_timeout=10) as stream:
            hello = json.loads(stream.recv(timeout=10))
            if hello.get("type") != "hello":
                raise CheckFailed(f"the stream greeted with {hello}")
            neighbour = hello.get("jurisdiction")
            ok(f"stream subscriber of {neighbour} connected at seq {hello.get('seq')}")

            report = {**FLOOD, "occurred_at": datetime.now(UTC).isoformat()}
            created = client.post("/api/v1/incidents/", json=report, headers={"Authorization": f"Bearer {token}"})
            if created.status_code != 201:
                raise CheckFailed(f"POST /api/v1/incidents/ answered {created.status_code}: {created.text[:500]}")
            incident = created.json()["id"]
            reach = ", ".join(created.json()["affected_jurisdictions"])
            ok(f"incident {incident} reported by {created.json()['reporting_jurisdiction']}, affecting {reach}")

            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CheckFailed(f"{neighbour}'s subscriber did not receive incident.created for {incident} "
                                      f"within {WAIT_SECONDS} s: is a worker running?")
                try:
                    message = json.loads(stream.recv(timeout=left))
                except TimeoutError:
                    continue
                if message.get("event") == "incident.created" and message.get("data", {}).get("id") == incident:
                    ok(f"{neighbour}'s subscriber received incident.created (seq {message['seq']})")
                    break

        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            owed = client.get("/api/v1/acknowledgements/", params={"incident": incident, "status": "pending"},
                              headers={"Authorization": f"Bearer {neighbour_token}"})
            if owed.status_code != 200:
                raise CheckFailed(f"GET /api/v1/acknowledgements/ answered {owed.status_code}: {owed.text[:300]}")
            if owed.json()["results"]:
                due = owed.json()["results"][0]["due_at"]
                ok(f"the playbook started: {neighbour} owes an acknowledgement, due {due}")
                return
            if time.monotonic() > deadline:
                raise CheckFailed(f"no acknowledgement owed by {neighbour} within {WAIT_SECONDS} s: "
                                  "is a worker running, and the demo playbooks loaded?")
            time.sleep(0.5)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        check(*argv[1:])
    except (CheckFailed, OSError, httpx.HTTPError) as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print("all checks hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
