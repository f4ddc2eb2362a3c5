"""The authorization server's HTML: login, consent, device code entry and plain messages.

Real forms with real field names: the scripted user agent and Chromium both
fill them the way a person would. The pages say who is asking for what before
anyone types a password, and hold at phone widths as well as on a desktop.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._http import Response, escape, html_response

SCOPE_DESCRIPTIONS = {
    "read": "Read the wiki's pages and API",
    "write": "Create, change and delete pages through the API",
    "admin": "Use the admin area, including the audit log",
    "offline_access": "Stay signed in: refresh access without asking you again",
    "openid": "Know who you are",
}

#: Every page is readable on a phone: the viewport is the device's, not a zoomed-out desktop.
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef1f7;color:#1c2333}
.brand{padding:.9rem 1.25rem;font-weight:600;color:#2b3a67}
.card{background:#fff;margin:1rem auto 2rem;padding:1.5rem 1.75rem;border-radius:12px;
  box-shadow:0 1px 3px rgba(20,30,60,.12);width:calc(100% - 2rem);max-width:30rem}
h1{font-size:1.4rem;line-height:1.3;margin:0 0 .75rem}
p{margin:.6rem 0}
label{display:block;margin:.9rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{display:block;width:100%;padding:.6rem .7rem;font:inherit;
  border:1px solid #b8c0d4;border-radius:8px}
input:focus,button:focus-visible,a:focus-visible{outline:3px solid #9db7ff;outline-offset:1px}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.25rem}
button{font:inherit;font-weight:600;padding:.65rem 1.4rem;border-radius:8px;cursor:pointer;min-height:2.75rem}
button.primary{background:#2f5bea;border:1px solid #2f5bea;color:#fff}
button.secondary{background:#fff;border:1px solid #b8c0d4;color:#1c2333}
.error{color:#a3152a;background:#fdecef;border-radius:8px;padding:.5rem .75rem}
.note{color:#505a73;font-size:.9rem}
.who{display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap;align-items:baseline;
  background:#f4f6fb;border-radius:8px;padding:.5rem .75rem}
ul.scopes{padding:0;list-style:none;margin:.5rem 0}
ul.scopes li{padding:.5rem 0;border-top:1px solid #e3e7f0}
ul.scopes li:first-child{border-top:0}
.scope-name{display:block;font-size:.85rem;color:#505a73}
code{font-size:.9em;overflow-wrap:anywhere}
.app{word-break:break-word}
@media (max-width:30rem){.card{padding:1.25rem 1rem;margin-top:.25rem}.actions{flex-direction:column}
  .actions button{width:100%}}
"""


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8">{VIEWPORT}<title>{escape(title)} · Acme Access</title>
<style>{_STYLE}</style>
</head>
<body><div class="brand">Acme Access</div>
<main class="card">
<h1>{escape(title)}</h1>
{body}
</main></body>
</html>
"""


def _hidden(fields: dict[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())


@dataclass(frozen=True)
class Asking:
    """Who wants the sign-in, shown before any password is typed."""

    #: The agent (OAuth client), by the name it goes by; ``None`` for a person's own visit.
    client_name: str | None
    #: The app, by its protected resource metadata ``resource_name`` (RFC 9728 §2).
    app_name: str


def login_page(
    action: str,
    hidden: dict[str, str],
    users: dict[str, str],
    error: str | None = None,
    *,
    asking: Asking | None = None,
    username: str = "",
) -> Response:
    hint = ", ".join(f"<code>{escape(u)}</code> / <code>{escape(p)}</code>" for u, p in users.items())
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    if asking is not None and asking.client_name:
        context = (f'<p class="asking"><strong class="client-name">{escape(asking.client_name)}</strong> wants to '
                   f'access <strong class="app">{escape(asking.app_name)}</strong> as you. '
                   "Sign in to review the request.</p>")
    elif asking is not None:
        app = escape(asking.app_name)
        context = f'<p class="asking">Sign in to continue to <strong class="app">{app}</strong>.</p>'
    else:
        context = ""
    # After a wrong password the username stays and the password field has the focus.
    user_focus, password_focus = ("", " autofocus") if username else (" autofocus", "")
    body = f"""{context}{problem}
<form method="post" action="{escape(action)}">
{_hidden(hidden)}
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{escape(username)}" autocomplete="username"
 autocapitalize="none" spellcheck="false" required{user_focus}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{password_focus}>
<div class="actions"><button type="submit" class="primary">Sign in</button></div>
</form>
<p class="note">Demo users: {hint}</p>"""
    return html_response(401 if error else 200, _page("Sign in to Acme", body))


def consent_page(
    action: str,
    hidden: dict[str, str],
    *,
    user: str,
    client_name: str,
    client_id: str,
    app_name: str,
    resource: str,
    scopes: tuple[str, ...],
    withheld: tuple[str, ...],
    switch_user: str,
    verified_by: str | None,
) -> Response:
    """``verified_by`` says who vouches for ``client_name``: ``None`` for a client that
    registered itself (RFC 7591), whose name is only what it says about itself."""
    items = "".join(
        f'<li><span class="scope-description">{escape(SCOPE_DESCRIPTIONS.get(s, s))}</span>'
        f'<span class="scope-name"><code>{escape(s)}</code></span></li>'
        for s in scopes
    ) or "<li>No permissions beyond knowing the request was made</li>"
    note = (
        f'<p class="error">Your account may not grant: {escape(" ".join(withheld))}.</p>' if withheld else ""
    )
    if verified_by is None:
        provenance = (f'<p class="note unverified">This agent registered itself: the name “{escape(client_name)}” '
                      "is what it says about itself and has not been verified. Allow only if you just asked it "
                      "to use this app.</p>")
    else:
        provenance = f'<p class="note verified">{escape(verified_by)}</p>'
    body = f"""<p class="who">
<span>Signed in as <strong class="user">{escape(user)}</strong></span>
<a class="switch-user" href="{escape(switch_user)}">Not you?</a></p>
<p><strong class="client-name">{escape(client_name)}</strong> wants to access
<strong class="app">{escape(app_name)}</strong> as you.</p>
<p class="note">App: <code class="resource">{escape(resource)}</code><br>
Agent: <code class="client-id">{escape(client_id)}</code></p>
<p>It will be able to:</p>
<ul class="scopes">{items}</ul>
{note}{provenance}
<form method="post" action="{escape(action)}">
{_hidden(hidden)}
<div class="actions">
<button type="submit" name="decision" value="approve" class="primary">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</div>
</form>"""
    return html_response(200, _page("Allow access?", body))


def device_page(action: str, hidden: dict[str, str], user_code: str = "", error: str | None = None) -> Response:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""{problem}
<p>Enter the code shown on your device.</p>
<form method="post" action="{escape(action)}">
{_hidden(hidden)}
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="{escape(user_code)}" autocomplete="off"
 autocapitalize="characters" spellcheck="false" required autofocus>
<div class="actions"><button type="submit" class="primary">Continue</button></div>
</form>"""
    return html_response(400 if error else 200, _page("Connect a device", body))


def one_time_code_page(action: str, hidden: dict[str, str], code: str, error: str | None = None) -> Response:
    """The second factor of a stronger sign-in (RFC 9470 step-up): a one-time code."""
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = f"""{problem}
<p>This request needs a stronger sign-in. Enter the one-time code from your authenticator.</p>
<form method="post" action="{escape(action)}">
{_hidden(hidden)}
<label for="otp">One-time code</label>
<input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" required autofocus>
<div class="actions"><button type="submit" class="primary">Verify</button></div>
</form>
<p class="note">Demo code: <code>{escape(code)}</code></p>"""
    return html_response(401 if error else 200, _page("Verify it's you", body))


def message_page(title: str, text: str, status: int = 200) -> Response:
    return html_response(status, _page(title, f"<p class=\"message\">{escape(text)}</p>"))
