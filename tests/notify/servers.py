"""Real local stand-ins for the notification providers, on 127.0.0.1 (docs/providers.md, "Testing").

Each is a threaded HTTP server that checks every request the way its provider documents it and
refuses what the provider would refuse (a wrong signature, a stale timestamp, an unknown key),
answering in that provider's own error format. What it accepted is recorded, so tests count
messages at the receiving side. Any of them can be told to answer an error status, or to hang,
for its next N requests; the SMS gateway also posts signed delivery receipts and inbound replies
back to a URL, as a real gateway does.

None of this imports the adapters' code to check their requests: each check is written from the
provider's documentation, so a mistake in an adapter is not repeated here.
"""

import base64
import hashlib
import hmac
import itertools
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import http_ece
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url_decode(text: str | bytes) -> bytes:
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data, content_type: str = "application/json", **headers) -> "Reply":
        return cls(status, json.dumps(data, ensure_ascii=False).encode(), {"Content-Type": content_type, **headers})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with a fault switch; subclasses implement `handle`."""

    def __init__(self):
        self.accepted: list[dict] = []  # what the provider would deliver, in order
        self.refused: list[tuple[str, Request]] = []  # (reason, request) the provider would refuse
        self.requests: list[Request] = []  # everything that arrived
        self._lock = threading.Lock()
        self._faults: list[tuple[str, object]] = []
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
            # client's delayed ACK hold every kept-alive answer ~40 ms: measured, 1,000 SMS through
            # the gateway stand-in went at 22/s without it, 464/s with it.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()}, body,
                )
                reply = outer._dispatch(request)
                if reply is None:  # hung until released: the client must have timed out
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_POST = _serve
            do_GET = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    # --- faults -------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500, reply: Reply | None = None) -> None:
        """The next `count` requests get `reply` (default: an empty `status`), checked or not."""
        with self._lock:
            self._faults.extend([("reply", reply or Reply(status, b"busy", {"Content-Type": "text/plain"}))] * count)

    def hang_next(self, count: int, seconds: float = 5.0) -> None:
        """The next `count` requests get no answer for `seconds` (then the connection is dropped)."""
        with self._lock:
            self._faults.extend([("hang", seconds)] * count)

    def _dispatch(self, request: Request) -> Reply | None:
        with self._lock:
            self.requests.append(request)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            kind, value = fault
            if kind == "hang":
                self._release.wait(value)
                return None
            return value
        return self.handle(request)

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def refuse(self, reason: str, request: Request, reply: Reply) -> Reply:
        with self._lock:
            self.refused.append((reason, request))
        return reply

    def accept(self, record: dict) -> None:
        with self._lock:
            self.accepted.append(record)

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- Our SMS gateway contract (docs/providers.md, "SMS gateway contract") -----------------------


def gateway_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class SmsGatewayServer(LocalServer):
    """POST /messages, signed with HMAC-SHA256 over "<timestamp>.<body>"; dedupes on Idempotency-Key."""

    WINDOW = 300

    def __init__(self, *, key_id: str = "liandong-test", secret: str = "gateway-secret-for-tests"):
        self.key_id, self.secret = key_id, secret
        self._ids: dict[str, str] = {}
        self._serial = itertools.count(1)
        super().__init__()
        self.url = f"{self.origin}/messages"

    def handle(self, request: Request) -> Reply:
        if request.method != "POST" or request.path != "/messages":
            return Reply.json(404, {"error": "not_found"})
        timestamp = request.header("X-Liandong-Timestamp")
        if request.header("X-Liandong-Key") != self.key_id:
            return self.refuse("unknown_key", request, Reply.json(401, {"error": "unknown_key"}))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.WINDOW:
            return self.refuse("stale", request, Reply.json(401, {"error": "stale_timestamp"}))
        expected = gateway_signature(self.secret, timestamp, request.body)
        if not hmac.compare_digest(expected, request.header("X-Liandong-Signature")):
            return self.refuse("bad_signature", request, Reply.json(401, {"error": "bad_signature"}))
        try:
            data = json.loads(request.body)
            to, text, reference = data["to"], data["text"], data["reference"]
        except (ValueError, KeyError, TypeError):
            return self.refuse("bad_body", request, Reply.json(400, {"error": "bad_body"}))
        if request.header("Idempotency-Key") != reference:
            return self.refuse("idempotency_key", request, Reply.json(400, {"error": "idempotency_key_mismatch"}))
        if not (isinstance(to, str) and to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
            return self.refuse("invalid_number", request, Reply.json(400, {"error": "invalid_number"}))
        with self._lock:
            known = self._ids.get(reference)
            if known is None:
                known = self._ids[reference] = f"gw-{next(self._serial)}"
                self.accepted.append({"id": known, "to": to, "text": text, "reference": reference})
        return Reply.json(200, {"id": known})

    def signed_post(self, url: str, payload: dict, *, secret: str | None = None, timestamp: int | None = None,
                    key_id: str | None = None, client: httpx.Client | None = None) -> httpx.Response:
        """Post a callback the way the gateway does: the same HMAC scheme, with our key id.
        `client` carries it (default: a plain HTTP client; tests may give one bound to the
        Django application, which then runs in the test's database transaction)."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Liandong-Key": key_id if key_id is not None else self.key_id,
            "X-Liandong-Timestamp": stamp,
            "X-Liandong-Signature": gateway_signature(secret if secret is not None else self.secret, stamp, body),
        }
        if client is not None:
            return client.post(url, content=body, headers=headers, timeout=10)
        return httpx.post(url, content=body, headers=headers, timeout=10)

    def post_receipt(self, url: str, provider_id: str, status: str = "delivered", **kwargs) -> httpx.Response:
        payload = {"id": provider_id, "status": status, "at": datetime.now(UTC).isoformat()}
        if status == "failed":
            payload["error"] = "unreachable"
        return self.signed_post(url, payload, **kwargs)

    def post_reply(self, url: str, sender: str, text: str, **kwargs) -> httpx.Response:
        return self.signed_post(url, {"from": sender, "text": text, "at": datetime.now(UTC).isoformat()}, **kwargs)


# --- Tencent Cloud API 3.0, TC3-HMAC-SHA256 -----------------------------------------------------


def tc3_signature(*, secret_key: str, method: str, uri: str, query: str, content_type: str, host: str,
                  body: bytes, timestamp: int, service: str) -> str:
    """Tencent Cloud's signature v3, step by step as its documentation gives it."""
    canonical = "\n".join([
        method, uri, query, f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()


class TencentSmsServer(LocalServer):
    """The SendSms action of sms.tencentcloudapi.com (version 2021-01-11), TC3 signature checked."""

    def __init__(self, *, secret_id: str = "AKIDtest", secret_key: str = "tencent-secret-for-tests",
                 app_id: str = "1400006666"):
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id
        self.next_codes: list[str] = []  # SendStatus codes to answer next (e.g. "LimitExceeded.…")
        self._serial = itertools.count(1)
        super().__init__()
        self.endpoint = f"127.0.0.1:{self.port}"

    def _error(self, code: str, message: str) -> Reply:
        return Reply.json(200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-err"}})

    def handle(self, request: Request) -> Reply:
        auth = request.header("Authorization")
        fields = dict(
            part.strip().split("=", 1) for part in auth.removeprefix("TC3-HMAC-SHA256 ").split(",") if "=" in part
        )
        timestamp = request.header("X-TC-Timestamp")
        if not auth.startswith("TC3-HMAC-SHA256 ") or not timestamp.isdigit():
            return self.refuse("auth", request, self._error("AuthFailure.InvalidAuthorization", "bad header"))
        secret_id, date, service, _ = (fields.get("Credential", "") + "///").split("/", 3)
        if secret_id != self.secret_id:
            return self.refuse("secret_id", request, self._error("AuthFailure.SecretIdNotFound", "unknown id"))
        if abs(time.time() - int(timestamp)) > 300:
            return self.refuse("expired", request, self._error("AuthFailure.SignatureExpire", "expired"))
        if fields.get("SignedHeaders") != "content-type;host" or service != "sms":
            return self.refuse("auth", request, self._error("AuthFailure.InvalidAuthorization", "headers"))
        expected = tc3_signature(
            secret_key=self.secret_key, method=request.method, uri=request.path, query="",
            content_type=request.header("Content-Type"), host=request.header("Host"), body=request.body,
            timestamp=int(timestamp), service="sms",
        )
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            return self.refuse("signature", request, self._error("AuthFailure.SignatureFailure", "signature"))
        if request.header("X-TC-Action") != "SendSms" or request.header("X-TC-Version") != "2021-01-11":
            return self.refuse("action", request, self._error("InvalidAction", "action"))
        data = json.loads(request.body)
        if data.get("SmsSdkAppId") != self.app_id:
            return self.refuse("app", request, self._error("InvalidParameterValue.SdkAppIdNotExist", "app"))
        statuses = []
        for number in data.get("PhoneNumberSet", []):
            with self._lock:
                code = self.next_codes.pop(0) if self.next_codes else "Ok"
            serial = f"2019:{next(self._serial)}" if code == "Ok" else ""
            statuses.append({
                "SerialNo": serial, "PhoneNumber": number, "Fee": 1 if code == "Ok" else 0,
                "SessionContext": data.get("SessionContext", ""), "Code": code,
                "Message": "send success" if code == "Ok" else code, "IsoCode": "CN",
            })
            if code == "Ok":
                self.accept({
                    "serial": serial, "to": number, "template": data.get("TemplateId"),
                    "params": data.get("TemplateParamSet"), "sign": data.get("SignName"),
                    "session": data.get("SessionContext"),
                })
        return Reply.json(200, {"Response": {"SendStatusSet": statuses, "RequestId": f"req-{self.port}"}})


    def post_receipts(self, url: str, serials: list[str], status: str = "SUCCESS",
                      client: httpx.Client | None = None) -> httpx.Response:
        """Tencent's 短信下发状态通知: a JSON array, unsigned (the URL's token is the credential)."""
        reports = [{
            "user_receive_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "nationcode": "86",
            "mobile": "13800138000", "report_status": status,
            "errmsg": "DELIVRD" if status == "SUCCESS" else "MK:0001",
            "description": "用户短信送达成功" if status == "SUCCESS" else "用户短信发送失败", "sid": serial,
        } for serial in serials]
        body = json.dumps(reports, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if client is not None:
            return client.post(url, content=body, headers=headers, timeout=10)
        return httpx.post(url, content=body, headers=headers, timeout=10)


# --- The group robots ------------------------------------------------------------------------------


class RobotServer(LocalServer):
    """WeCom, DingTalk and Feishu robot webhooks, each checked as its documentation says.

    - /cgi-bin/webhook/send?key=K (WeCom): the key must be a robot's;
    - /robot/send?access_token=T&timestamp=&sign= (DingTalk): sign recomputed, within an hour;
    - /open-apis/bot/v2/hook/T (Feishu): timestamp and sign in the body, within an hour.
    """

    HOUR = 3600

    def __init__(self):
        self.wecom_keys: set[str] = set()
        self.dingtalk: dict[str, str] = {}  # access token -> secret ("" : no signing)
        self.feishu: dict[str, str] = {}  # hook token -> secret
        self.next_codes: list[int] = []  # the services' own error codes to answer next
        super().__init__()

    def wecom_url(self, key: str) -> str:
        self.wecom_keys.add(key)
        return f"{self.origin}/cgi-bin/webhook/send?key={key}"

    def dingtalk_url(self, token: str, secret: str) -> str:
        self.dingtalk[token] = secret
        return f"{self.origin}/robot/send?access_token={token}"

    def feishu_url(self, token: str, secret: str) -> str:
        self.feishu[token] = secret
        return f"{self.origin}/open-apis/bot/v2/hook/{token}"

    def _next_code(self) -> int:
        with self._lock:
            return self.next_codes.pop(0) if self.next_codes else 0

    def handle(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply.json(400, {"errcode": 40000, "errmsg": "invalid json"})
        if request.path == "/cgi-bin/webhook/send":
            return self._wecom(request, body)
        if request.path == "/robot/send":
            return self._dingtalk(request, body)
        if request.path.startswith("/open-apis/bot/v2/hook/"):
            return self._feishu(request, body)
        return Reply.json(404, {"errcode": 404, "errmsg": "not found"})

    def _wecom(self, request: Request, body: dict) -> Reply:
        key = (request.query.get("key") or [""])[0]
        if key not in self.wecom_keys:
            return self.refuse("key", request, Reply.json(200, {"errcode": 93000, "errmsg": "invalid webhook url"}))
        kind = body.get("msgtype")
        content = (body.get(kind) or {}).get("content", "") if kind in ("text", "markdown") else ""
        limit = 4096 if kind == "markdown" else 2048
        if not content or len(content.encode()) > limit:
            return self.refuse("content", request, Reply.json(200, {"errcode": 40058, "errmsg": "content invalid"}))
        code = self._next_code()
        if code:
            return Reply.json(200, {"errcode": code, "errmsg": "api freq out of limit" if code == 45009 else "error"})
        self.accept({"service": "wecom", "key": key, "msgtype": kind, "content": content})
        return Reply.json(200, {"errcode": 0, "errmsg": "ok"})

    def _dingtalk(self, request: Request, body: dict) -> Reply:
        token = (request.query.get("access_token") or [""])[0]
        if token not in self.dingtalk:
            return self.refuse("token", request, Reply.json(200, {"errcode": 300001, "errmsg": "token is not exist"}))
        secret = self.dingtalk[token]
        if secret:
            timestamp = (request.query.get("timestamp") or [""])[0]
            sign = (request.query.get("sign") or [""])[0]  # parse_qs has URL-decoded it once
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > self.HOUR * 1000:
                return self.refuse("timestamp", request, Reply.json(
                    200, {"errcode": 310000, "errmsg": "invalid timestamp"}))
            digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
                return self.refuse("sign", request, Reply.json(200, {"errcode": 310000, "errmsg": "sign not match"}))
        kind = body.get("msgtype")
        if kind == "markdown":
            content = (body.get("markdown") or {}).get("text", "")
            if not (body.get("markdown") or {}).get("title"):
                return self.refuse("title", request, Reply.json(200, {"errcode": 40035, "errmsg": "缺少参数 title"}))
        elif kind == "text":
            content = (body.get("text") or {}).get("content", "")
        else:
            return self.refuse("msgtype", request, Reply.json(200, {"errcode": 40035, "errmsg": "msgtype"}))
        code = self._next_code()
        if code:
            return Reply.json(200, {"errcode": code, "errmsg": "send too fast" if code == 130101 else "error"})
        self.accept({"service": "dingtalk", "token": token, "msgtype": kind, "content": content})
        return Reply.json(200, {"errcode": 0, "errmsg": "ok"})

    def _feishu(self, request: Request, body: dict) -> Reply:
        token = request.path.rsplit("/", 1)[1]
        if token not in self.feishu:
            return self.refuse("token", request, Reply.json(
                404, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid", "data": {}}))
        secret = self.feishu[token]
        if secret:
            timestamp = str(body.get("timestamp", ""))
            fail = {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time",
                    "data": {}}
            if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > self.HOUR:
                return self.refuse("timestamp", request, Reply.json(200, fail))
            digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
            if not hmac.compare_digest(base64.b64encode(digest).decode(), str(body.get("sign", ""))):
                return self.refuse("sign", request, Reply.json(200, fail))
        if body.get("msg_type") != "text" or not (body.get("content") or {}).get("text"):
            return self.refuse("content", request, Reply.json(200, {"code": 9499, "msg": "Bad Request", "data": {}}))
        code = self._next_code()
        if code:
            return Reply.json(200, {"code": code, "msg": "frequency limited", "data": {}})
        self.accept({"service": "feishu", "token": token, "content": body["content"]["text"]})
        return Reply.json(200, {"code": 0, "msg": "success", "data": {}})


# --- A web push service and the browser behind it ------------------------------------------------


@dataclass
class Browser:
    """One subscription as a browser makes it: a P-256 key pair and a 16-byte auth secret."""

    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


def verify_vapid(authorization: str, *, audience: str, expected_key: str | None = None) -> str:
    """'' when `Authorization: vapid t=<JWT>, k=<key>` is valid for `audience` (RFC 8292), else why not."""
    if not authorization.startswith("vapid "):
        return "scheme"
    params = dict(part.strip().split("=", 1) for part in authorization[6:].split(",") if "=" in part)
    token, key = params.get("t", ""), params.get("k", "")
    if expected_key is not None and key != expected_key:
        return "key"
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        head, payload, signature = token.split(".")
        header = json.loads(b64url_decode(head))
        claims = json.loads(b64url_decode(payload))
        raw = b64url_decode(signature)
    except (ValueError, TypeError):
        return "malformed"
    if header.get("alg") != "ES256" or len(raw) != 64:
        return "alg"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    except Exception:  # noqa: BLE001 - InvalidSignature
        return "signature"
    if claims.get("aud") != audience:
        return "aud"
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= time.time() or exp > time.time() + 24 * 3600:
        return "exp"
    sub = str(claims.get("sub", ""))
    if not (sub.startswith("mailto:") or sub.startswith("https:")):
        return "sub"
    return ""


class PushServer(LocalServer):
    """A push service (RFC 8030) that decrypts each message as the subscribed browser would (RFC 8291)."""

    def __init__(self, *, application_server_key: str | None = None):
        self.application_server_key = application_server_key  # base64url public key the browser subscribed with
        self.browsers: dict[str, Browser] = {}
        self.gone: set[str] = set()
        self._serial = itertools.count(1)
        super().__init__()

    def subscribe(self) -> Browser:
        browser_id = f"sub{len(self.browsers) + 1}"
        browser = Browser(
            browser_id, ec.generate_private_key(ec.SECP256R1()), os.urandom(16),
            f"{self.origin}/push/{browser_id}",
        )
        self.browsers[browser_id] = browser
        return browser

    def handle(self, request: Request) -> Reply:
        browser = self.browsers.get(request.path.rsplit("/", 1)[-1]) if request.path.startswith("/push/") else None
        if browser is None or browser.id in self.gone:
            return self.refuse("gone", request, Reply(410, b"", {}))
        why = verify_vapid(request.header("Authorization"), audience=self.origin,
                           expected_key=self.application_server_key)
        if why:
            return self.refuse(f"vapid_{why}", request, Reply(403, why.encode(), {"Content-Type": "text/plain"}))
        if request.header("Content-Encoding") != "aes128gcm" or not request.header("TTL").isdigit():
            return self.refuse("headers", request, Reply(400, b"headers", {"Content-Type": "text/plain"}))
        if len(request.body) > 4096:
            return self.refuse("too_large", request, Reply(413, b"", {}))
        try:
            plain = http_ece.decrypt(
                request.body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
            )
            payload = json.loads(plain)
        except Exception as exc:  # noqa: BLE001 - whatever fails to decrypt is refused
            return self.refuse(f"decrypt:{type(exc).__name__}", request, Reply(400, b"decrypt", {}))
        message_id = f"m{next(self._serial)}"
        self.accept({
            "id": message_id, "browser": browser.id, "payload": payload, "ttl": int(request.header("TTL")),
            "urgency": request.header("Urgency"), "topic": request.header("Topic"),
        })
        return Reply(201, b"", {"Location": f"{self.origin}/message/{message_id}"})
