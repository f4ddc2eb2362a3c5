"""The authorization server's HTML: login, consent, device code entry and plain messages.

Real forms with real field names: the scripted user agent and Chromium both
fill them the way a person would.
"""

from __future__ import annotations

from ._http import Response, escape, html_response

SCOPE_DESCRIPTIONS = {
    "read": "Read the wiki's pages and API",
    "write": "Create, change and delete pages through the API",
    "admin": "Use the admin area, including the audit log",
    "offline_access": "Stay signed in: refresh access without asking you again",
    "openid": "Know who you are",
}


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{escape(title)} · Acme Access</title>
<style>body{{font-family:sans-serif;background:#eef;display:flex;justify-content:center}}
.card{{background:#fff;margin-top:4em;padding:1.5em 2em;border-radius:8px;min-width:22em;max-width:34em}}
label{{display:block;margin:.6em 0}}.error{{color:#a00}}button{{margin-right:.6em;padding:.4em 1.2em}}</style>
</head>
<body><div class="card">
<h1>{escape(title)}</h1>
{body}
</div></body>
</html>
"""


def login_page(action: str, hidden: dict[str, str], users: dict[str, str], error: str | None = None) -> Response:
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    hint = ", ".join(f"<code>{escape(u)}</code> / <code>{escape(p)}</code>" for u, p in users.items())
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""{problem}
<form method="post" action="{escape(action)}">
{fields}
<label>Username <input type="text" name="username" autocomplete="username" required autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<p><small>Demo users: {hint}</small></p>"""
    return html_response(401 if error else 200, _page("Sign in to Acme", body))


def consent_page(
    action: str,
    hidden: dict[str, str],
    *,
    user: str,
    client_name: str,
    client_id: str,
    resource: str,
    scopes: tuple[str, ...],
    withheld: tuple[str, ...],
) -> Response:
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    items = "".join(
        f"<li><code>{escape(s)}</code>: {escape(SCOPE_DESCRIPTIONS.get(s, s))}</li>" for s in scopes
    ) or "<li>No scopes</li>"
    note = (
        f'<p class="error">Your account may not grant: {escape(" ".join(withheld))}.</p>' if withheld else ""
    )
    body = f"""<p>Signed in as <strong class="user">{escape(user)}</strong>.</p>
<p><strong class="client-name">{escape(client_name)}</strong> (client <code class="client-id">{escape(client_id)}</code>)
wants to access <strong class="resource">{escape(resource)}</strong> on your behalf with these permissions:</p>
<ul class="scopes">{items}</ul>
{note}
<form method="post" action="{escape(action)}">
{fields}
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>"""
    return html_response(200, _page("Allow access?", body))


def device_page(action: str, hidden: dict[str, str], user_code: str = "", error: str | None = None) -> Response:
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""{problem}
<p>Enter the code shown on your device.</p>
<form method="post" action="{escape(action)}">
{fields}
<label>Code <input type="text" name="user_code" value="{escape(user_code)}" autocomplete="off" required></label>
<button type="submit">Continue</button>
</form>"""
    return html_response(400 if error else 200, _page("Connect a device", body))


def one_time_code_page(action: str, hidden: dict[str, str], code: str, error: str | None = None) -> Response:
    """The second factor of a stronger sign-in (RFC 9470 step-up): a one-time code."""
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""{problem}
<p>This request needs a stronger sign-in. Enter the one-time code from your authenticator.</p>
<form method="post" action="{escape(action)}">
{fields}
<label>One-time code <input type="text" name="otp" inputmode="numeric" autocomplete="one-time-code" required></label>
<button type="submit">Verify</button>
</form>
<p><small>Demo code: <code>{escape(code)}</code></small></p>"""
    return html_response(401 if error else 200, _page("Verify it's you", body))


def message_page(title: str, text: str, status: int = 200) -> Response:
    return html_response(status, _page(title, f"<p class=\"message\">{escape(text)}</p>"))
