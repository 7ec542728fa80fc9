#!/usr/bin/env python3
"""A Gatehouse client in Python (standard library only).

Logs in with a password and a TOTP code, keeps an access token fresh from the refresh token,
and performs a sudo action. Run against a server with an account that has TOTP enabled:

    GATEHOUSE_URL=http://127.0.0.1:8080 python3 client.py EMAIL PASSWORD TOTP_SECRET NEW_PASSWORD
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
import urllib.error
import urllib.request


class GatehouseError(Exception):
    """An error answer: the API's envelope {statusCode, error, message[, retryAfter]}."""

    def __init__(self, envelope):
        super().__init__(f"{envelope.get('statusCode')} {envelope.get('message')}")
        self.status = envelope.get("statusCode")
        self.message = envelope.get("message")
        self.retry_after = envelope.get("retryAfter")


def totp(secret, at=None):
    """RFC 6238: SHA1, 6 digits, 30-second steps."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(at if at is not None else time.time()) // 30
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


class Client:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.refresh = self.access = self.sudo = None

    def call(self, method, path, token=None, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req) as resp:
                raw = resp.read().decode()
                if resp.headers.get_content_type() == "text/plain":
                    return raw  # the token endpoints answer the raw token
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raise GatehouseError(json.loads(err.read().decode())) from None

    def login(self, email, password, totp_secret):
        token = self.call("POST", "/auth/login", body={"username": email, "password": password})
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        if claims["typ"] == "partial":
            # Second factor; on 429 wait as long as the server says, then try again. A code
            # works once: if this step's code was used already (401 TOTP_INVALID), wait for the
            # next 30-second step, as an authenticator app's user would, once.
            waited = False
            while True:
                try:
                    tokens = self.call("POST", "/user/2fa/totp/authenticate", token, {"totp": totp(totp_secret)})
                    break
                except GatehouseError as err:
                    if err.status == 429:
                        time.sleep(err.retry_after)
                    elif err.status == 401 and err.message == "TOTP_INVALID" and not waited:
                        print("code refused (used already?): waiting for the next 30-second code")
                        time.sleep(30 - time.time() % 30 + 0.5)
                        waited = True
                    else:
                        raise
            self.refresh, self.access, self.sudo = tokens["refreshToken"], tokens["accessToken"], tokens["sudoToken"]
        else:
            self.refresh = token
            self.access = self.call("GET", "/auth/accesstoken", self.refresh)

    def refresh_tokens(self):
        self.refresh = self.call("GET", "/auth/refreshtoken", self.refresh)
        self.access = self.call("GET", "/auth/accesstoken", self.refresh)

    def change_password(self, old, new):
        # With 2FA on this needs a sudo token (SUDO_TOKEN_REQUIRED otherwise).
        self.call("PUT", "/user/password/old-password", self.sudo or self.access, {"oldPassword": old, "newPassword": new})


def main():
    email, password, secret, new_password = sys.argv[1:5]
    client = Client(os.environ.get("GATEHOUSE_URL", "http://127.0.0.1:8080"))
    client.login(email, password, secret)
    print("logged in: user", client.call("GET", "/auth/accesstoken/validate", client.access)["userId"])
    client.refresh_tokens()
    print("tokens refreshed")
    client.change_password(password, new_password)
    print("password changed with the sudo token")
    print("2FA:", client.call("GET", "/user/2fa", client.access))


if __name__ == "__main__":
    main()
