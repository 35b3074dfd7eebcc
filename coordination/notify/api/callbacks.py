"""Provider callbacks (docs/providers.md): thin views over coordination.notify.callbacks.

They take no session or token: the caller is a provider, authenticated by its signature over
the raw body, which is why the body is read as bytes before anything parses it.
"""

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.schema import PROBLEM
from coordination.notify import callbacks


class GatewayReceiptView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={204: None, 400: PROBLEM, 401: PROBLEM, 404: PROBLEM},
        description="The SMS gateway's delivery receipt, signed with X-Liandong-Key, X-Liandong-Timestamp and "
                    "X-Liandong-Signature (docs/providers.md, 'SMS gateway contract').",
    )
    def post(self, request):
        callbacks.gateway_receipt(headers=request.headers, body=request.body)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GatewayReplyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 400: PROBLEM, 401: PROBLEM},
        description="An SMS reply received by the gateway, signed like a receipt. A reply naming a message's "
                    "code from the number it went to acknowledges its request; the answer says what happened "
                    "(docs/providers.md, 'SMS replies').",
    )
    def post(self, request):
        return Response({"outcome": callbacks.gateway_reply(headers=request.headers, body=request.body)})


class TencentReceiptsView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 400: PROBLEM, 401: PROBLEM, 404: PROBLEM},
        description="Tencent Cloud SMS delivery receipts (a JSON array), to the URL with the token given to "
                    "Tencent's console; answers as Tencent expects: {\"result\": 0, \"errmsg\": \"OK\"} "
                    "(docs/providers.md, 'Tencent Cloud SMS').",
    )
    def post(self, request, token: str):
        callbacks.tencent_receipts(token=token, body=request.body)
        return Response({"result": 0, "errmsg": "OK"})


class TencentReplyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 400: PROBLEM, 401: PROBLEM, 404: PROBLEM},
        description="An SMS reply received by Tencent Cloud SMS (短信回复: mobile, nationcode, text), to the URL "
                    "with the token given to Tencent's console. A reply naming a message's code from the number it "
                    "went to acknowledges its request; answers as Tencent expects, with what happened "
                    "(docs/providers.md, 'SMS replies').",
    )
    def post(self, request, token: str):
        outcome = callbacks.tencent_reply(token=token, body=request.body)
        return Response({"result": 0, "errmsg": "OK", "outcome": outcome})
