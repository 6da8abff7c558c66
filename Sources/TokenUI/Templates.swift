/// The dashboard's Mustache templates and style sheet, compiled into the binary: nothing is read
/// from disk or fetched from elsewhere. `{{…}}` escapes HTML, so ids (caller-controlled) are safe;
/// `{{{…}}}` is used only for markup this module builds itself.
enum Templates {
    static let all: [String: String] = [
        "head": head, "foot": foot, "fleet": fleet, "app": app, "login": login, "cluster": cluster, "message": message,
    ]

    static let style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
        header a{color:#cfe0ff;text-decoration:none}header .who{margin-left:auto;font-size:.9em}
        header form{display:inline}main{padding:1em 1.2em}
        h1{font-size:1.3em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
        table{border-collapse:collapse;width:100%;background:#fff}
        th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #e3e6eb;vertical-align:top}
        th{background:#eef0f4;font-weight:600}td.num,th.num{text-align:right}
        .counts{display:flex;gap:.6em;flex-wrap:wrap;margin-bottom:1em}
        .count{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:.4em .8em;text-decoration:none;color:inherit}
        .count b{font-size:1.3em;display:block}
        .state{display:inline-block;border-radius:4px;padding:0 .4em;font-size:.9em;white-space:nowrap}
        .fresh{background:#d9f2de;color:#14532d}.stale{background:#fff1c2;color:#713f12}
        .failing{background:#fde2e2;color:#7f1d1d}.parked{background:#e6dcf7;color:#3b0764}
        .none{background:#e5e7eb;color:#374151}.removed{background:#e5e7eb;color:#6b7280}
        .error{color:#991b1b;font-size:.9em}.nowrap{white-space:nowrap}.muted{color:#6b7280}
        form.filters{display:flex;gap:.6em;align-items:end;margin-bottom:1em;flex-wrap:wrap}
        form.filters label{display:flex;flex-direction:column;font-size:.85em}
        .pager{margin:.8em 0;display:flex;gap:1em}
        .actions{display:flex;gap:2em;flex-wrap:wrap;margin:1em 0}
        .actions form{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:.8em}
        .notice{background:#e0f2fe;border:1px solid #7dd3fc;padding:.6em;border-radius:6px}
        .problem{background:#fde2e2;border:1px solid #fca5a5;padding:.6em;border-radius:6px}
        svg{background:#fff;border:1px solid #d8dce3;max-width:100%;height:auto}
        svg text{font:11px system-ui,sans-serif}
        .bar{fill:#86c99a}.margin{fill:#f3d37a}.fail{stroke:#b91c1c;stroke-width:2}
        .forced{fill:#2563eb}.secret{fill:#7c3aed}.revoked{stroke:#111;stroke-width:2}
        """

    static let head = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · TokenLedger</title><link rel="stylesheet" href="/ui/style.css"></head>
        <body><header><strong>TokenLedger</strong><a href="/ui">Fleet</a><a href="/ui/cluster">Cluster</a>
        {{#user}}<span class="who">signed in as <b>{{name}}</b>
        {{#canLogOut}}<form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button>Sign out</button></form>{{/canLogOut}}
        </span>{{/user}}</header><main>
        """

    static let foot = """
        </main></body></html>
        """

    static let fleet = """
        {{> head}}
        <h1>Fleet</h1>
        <div class="counts">
        <a class="count" href="{{allHref}}"><b>{{total}}</b>all apps</a>
        {{#counts}}<a class="count" href="{{href}}"><b>{{count}}</b><span class="state {{style}}">{{label}}</span></a>{{/counts}}
        </div>
        <form class="filters" method="get" action="/ui">
        <label>Project<select name="project"><option value="">all</option>{{#projects}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/projects}}</select></label>
        <label>Platform<select name="platform"><option value="">all</option>{{#platforms}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/platforms}}</select></label>
        <label>State<select name="state"><option value="">all</option>{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}</select></label>
        <button>Filter</button>
        </form>
        <p class="muted">{{matching}} matching, page {{page}} of {{pages}}</p>
        <table id="fleet"><thead><tr><th>Project</th><th>Platform</th><th>App id</th><th>State</th><th>Expires</th><th>Renews</th><th>Last refresh</th><th>Why</th><th>Replica</th><th class="num">Latency</th><th>Budget</th></tr></thead><tbody>
        {{#rows}}<tr data-app="{{stream}}" data-state="{{state}}"><td>{{project}}</td><td>{{platform}}</td><td><a href="{{href}}">{{appid}}</a></td>
        <td><span class="state {{style}}">{{stateLabel}}</span>{{#error}}<div class="error">{{error}}</div>{{/error}}</td>
        <td class="nowrap" title="{{expiresISO}}">{{expires}}</td><td title="{{renewsISO}}">{{renews}}</td><td class="nowrap" title="{{refreshedISO}}">{{refreshed}}</td><td>{{reason}}</td><td>{{node}}</td><td class="num nowrap">{{latency}}</td><td class="nowrap">{{budget}}</td></tr>
        {{/rows}}{{^rows}}<tr><td colspan="11" class="muted">No apps match.</td></tr>{{/rows}}
        </tbody></table>
        <div class="pager">{{#previous}}<a rel="prev" href="{{.}}">← previous</a>{{/previous}}{{#next}}<a rel="next" href="{{.}}">next →</a>{{/next}}</div>
        {{> foot}}
        """

    static let app = """
        {{> head}}
        <h1>{{project}} / {{platform}} / {{appid}} <span class="state {{style}}" id="state" data-state="{{state}}">{{stateLabel}}</span></h1>
        <p class="muted">Today: {{budget}}</p>
        {{#notice}}<p class="notice" id="notice">{{.}}</p>{{/notice}}{{#problem}}<p class="problem" id="problem">{{.}}</p>{{/problem}}
        {{#error}}<p class="error">{{.}}</p>{{/error}}
        <form method="get"><label>Window <select name="hours">{{#windows}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/windows}}</select></label> <button>Show</button></form>
        <h2>Timeline, last {{hours}} h and what comes</h2>
        {{{svg}}}
        <p class="muted">Bars: a token from issue to expiry, the freshness margin shaded at its end. Red ticks: failed refreshes with their codes; blue dots: forced or compare refreshes; purple diamonds: secret changes; black ticks: revocations; the dashed line is now.</p>
        {{#actions}}
        <h2>Actions</h2>
        <div class="actions">
        {{#canRefresh}}<form method="post" action="{{base}}/refresh" id="refresh-form"><input type="hidden" name="csrf" value="{{csrf}}">
        <p>Fetch a new token from the platform now (one upstream call, one event).</p>
        <label><input type="checkbox" name="confirm" value="yes" required> I want a new token now</label><br><button id="refresh-button">Refresh now</button></form>{{/canRefresh}}
        {{#canAdminister}}<form method="post" action="{{base}}/secret" id="secret-form"><input type="hidden" name="csrf" value="{{csrf}}">
        <p>Set or rotate the secret (tried with the platform first when a working one is replaced).</p>
        <label>New secret <input type="password" name="secret" autocomplete="off" required></label><br>
        <label><input type="checkbox" name="confirm" value="yes" required> Replace the secret</label><br><button>Set secret</button></form>{{/canAdminister}}
        {{#canAdminister}}<form method="post" action="{{base}}/revoke" id="revoke-form"><input type="hidden" name="csrf" value="{{csrf}}">
        <p>Revoke the current token: it is never served again; the next read fetches a new one (one event).</p>
        <label><input type="checkbox" name="confirm" value="yes" required> Revoke the token</label><br><button id="revoke-button">Revoke token</button></form>{{/canAdminister}}
        {{#canAdminister}}<form method="post" action="{{base}}/remove" id="remove-form"><input type="hidden" name="csrf" value="{{csrf}}">
        <p>Remove the app: its secret and token are no longer served or renewed until a secret is set again (one event).</p>
        <label><input type="checkbox" name="confirm" value="yes" required> Remove this app</label><br><button id="remove-button">Remove app</button></form>{{/canAdminister}}
        </div>
        {{/actions}}
        {{#showHistory}}
        <h2>Events</h2>
        <table id="history"><thead><tr><th>#</th><th>When</th><th>Event</th><th>Reason</th><th>Token</th><th>Error</th><th>Actor</th><th>Replica</th><th>Request</th><th class="num">Latency</th></tr></thead><tbody>
        {{#events}}<tr><td>{{version}}</td><td>{{recordedAt}}</td><td>{{type}}</td><td>{{reason}}</td><td><code>{{token}}</code>{{secret}}</td>
        <td class="error">{{error}}{{#platformCode}} ({{.}}{{/platformCode}}{{#platformMessage}}: {{.}}{{/platformMessage}}{{#platformCode}}){{/platformCode}}</td>
        <td>{{actor}}</td><td>{{node}}</td><td>{{requestID}}</td><td class="num">{{upstreamLatencyMs}}</td></tr>{{/events}}
        </tbody></table>
        {{#truncated}}<p class="muted">Showing the last {{shown}} events.</p>{{/truncated}}
        {{/showHistory}}
        {{> foot}}
        """

    static let login = """
        {{> head}}
        <h1>Sign in</h1>
        {{#problem}}<p class="problem" id="problem">{{.}}</p>{{/problem}}
        <form method="post" action="/ui/login"><label>API key <input type="password" name="key" id="key" autocomplete="off" required size="50"></label>
        <button id="login-button">Sign in</button></form>
        <p class="muted">The key is checked once; the session lasts {{hours}} hours in an HttpOnly cookie.</p>
        {{> foot}}
        """

    static let cluster = """
        {{> head}}
        <h1>Cluster</h1>
        <table><tbody><tr><th>Log head</th><td>{{head}}</td></tr><tr><th>Memory model checkpoint</th><td>{{memory}}</td></tr>
        <tr><th>Memory model started from</th><td id="started">{{started}}</td></tr><tr><th>Newest memory snapshot</th><td id="snapshot">{{snapshot}}</td></tr>
        <tr><th>This replica</th><td>{{node}}</td></tr></tbody></table>
        <h2>Read models</h2>
        <table id="models"><thead><tr><th>Model</th><th class="num">Checkpoint</th><th class="num">Lag (events)</th><th>Projected by this replica</th><th class="num">Failures here</th><th>Last failure</th></tr></thead><tbody>
        {{#models}}<tr><td>{{name}}</td><td class="num">{{checkpoint}}</td><td class="num">{{lag}}</td><td>{{leader}}</td><td class="num">{{failures}}</td><td>{{#lastFailure}}<span class="error">{{.}}</span>{{/lastFailure}}</td></tr>{{/models}}
        </tbody></table>
        <h2>Replicas</h2>
        <p class="muted">{{presence}} Events: the last {{scanned}} events of the log.</p>
        <table id="replicas"><thead><tr><th>Replica</th><th>Connected now</th><th class="num">Events</th><th>Last event</th></tr></thead><tbody>
        {{#replicas}}<tr data-replica="{{name}}"><td>{{name}}</td><td>{{connected}}</td><td class="num">{{events}}</td><td>{{last}}</td></tr>{{/replicas}}
        </tbody></table>
        {{> foot}}
        """

    static let message = """
        {{> head}}
        <h1>{{title}}</h1>
        <p class="{{kind}}" id="{{kind}}">{{text}}</p>
        <p><a href="/ui">Back to the fleet</a></p>
        {{> foot}}
        """
}
