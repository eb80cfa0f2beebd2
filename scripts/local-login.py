#!/usr/bin/env python3
"""Sign in to ferry-local's identity provider from a terminal and print an access token.

It does what the web portal does: authorization code + PKCE (S256) through the login form.
Usage: scripts/local-login.py URL EMAIL [PASSWORD] [--otp CODE]   (the password is asked for
when it is not given). Standard library only.
"""
import base64
import getpass
import hashlib
import html.parser
import http.cookiejar
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields, self.inputs = None, {}, set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("name"):
            self.inputs.add(attrs["name"])
            if attrs.get("type") == "hidden":
                self.fields[attrs["name"]] = attrs.get("value", "")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main(argv):
    args = [a for a in argv if not a.startswith("--otp")]
    otp = next((argv[i + 1] for i, a in enumerate(argv) if a == "--otp"), None)
    if otp:
        args.remove(otp)
    if len(args) < 2:
        sys.exit(__doc__)
    base, email = args[0].rstrip("/"), args[1]
    password = args[2] if len(args) > 2 else getpass.getpass("password: ")
    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = f"{base}/auth/callback"
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": "ferry-web", "redirect_uri": redirect,
        "code_challenge": challenge, "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(8), "scope": "openid email profile",
    })
    page = opener.open(f"{base}/oidc/authorize?{query}").read().decode()

    def submit(page, extra):
        form = FormParser()
        form.feed(page)
        data = urllib.parse.urlencode({**form.fields, **extra}).encode()
        try:
            return opener.open(urllib.parse.urljoin(base + "/", form.action or "/oidc/authorize"), data)
        except urllib.error.HTTPError as e:
            return e

    resp = submit(page, {"email": email, "password": password})
    if resp.status == 200:
        if not otp:
            otp = input("one-time code: ")
        resp = submit(resp.read().decode(), {"otp": otp})
    if resp.status not in (302, 303):
        sys.exit(f"sign-in failed (HTTP {resp.status})")
    location = urllib.parse.urlparse(resp.headers["Location"])
    code = urllib.parse.parse_qs(location.query)["code"][0]
    token = opener.open(f"{base}/oidc/token", urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "client_id": "ferry-web", "code_verifier": verifier,
    }).encode())
    print(json.load(token)["access_token"])


if __name__ == "__main__":
    main(sys.argv[1:])
