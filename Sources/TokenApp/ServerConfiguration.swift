import Foundation
public import Logging
public import TokenHTTP
public import TokenLedger
public import TokenUI

/// Everything the service reads from configuration, typed and checked once, with the defaults of
/// `config/default.yaml`. Each part has an `init(reader:)` over its own scope
/// (`ServerConfiguration+ConfigReader.swift`); a bad value is a `ConfigurationFailure` naming the key.
public struct ServerConfiguration: Sendable {
    /// `TOKENLEDGER_ENV`.
    public enum Environment: String, Sendable, CaseIterable {
        /// The defaults, access control off (`config/development.yaml`).
        case development
        /// What the test suites run.
        case test
        /// `secrets.key` is required.
        case production
    }

    /// `http.*`: where to listen.
    public struct HTTP: Sendable {
        /// `http.host` (default `127.0.0.1`).
        public var host = "127.0.0.1"
        /// `http.port` (default 3050, the original service's port; 0 picks a free one).
        public var port = 3050
        /// `http.read_your_writes_timeout_ms` (default 1000): how long a read waits to reach a
        /// position the caller has seen.
        public var readYourWritesTimeout = Duration.milliseconds(1000)
        /// `http.idle_timeout_ms` (default 60000): a connection with no request in progress for
        /// this long — none sent, or one whose head or body stopped arriving — is closed, so that
        /// idle or stalled connections cannot pile up. A request being answered (a watch) is not idle.
        public var idleTimeout = Duration.milliseconds(60000)

        /// The defaults.
        public init() {}
    }

    /// `eventlog.*`: the log.
    public struct EventLogSettings: Sendable {
        /// `eventlog.url` (default `sqlite:data/ledger.sqlite`).
        public var url = EventLogURL.sqlite(path: "data/ledger.sqlite")
        /// `eventlog.timeout_ms` (default 5000): bound on every query.
        public var timeout = Duration.milliseconds(5000)
        /// `eventlog.lock_timeout_ms` (default 30000): bound on waiting for another replica's
        /// refresh, and on how long a refresh may hold its lock.
        public var lockTimeout = Duration.milliseconds(30000)
        /// `eventlog.connections` (default 20): the pooled connections queries share.
        public var connections = 20
        /// `eventlog.lock_connections` (default 16): the most connections refresh locks hold at once.
        public var lockConnections = 16
        /// `eventlog.poll_interval_ms` (default 2000): the projector's safety-net poll.
        public var pollInterval = Duration.milliseconds(2000)
        /// `eventlog.snapshot_every` (default 10000; 0: none): a snapshot of the memory model is
        /// written each time it folded this many events past the newest, and a replica starts
        /// from the newest (beside the log: PostgreSQL or the SQLite file).
        public var snapshotEvery: Int64 = 10_000

        /// The defaults.
        public init() {}
    }

    /// `refresh.*`.
    public struct Refresh: Sendable {
        /// `refresh.early_seconds` (default 300, *premature_failure*).
        public var early = Duration.seconds(300)
        /// `refresh.max_early_fraction` (default 0.2): the margin never takes more of a token's life than this.
        public var maxEarlyFraction = 0.2
        /// `refresh.interval_seconds` (default 60, *corn_interval*); 0 turns the scheduler off.
        public var interval = Duration.seconds(60)
        /// `refresh.enabled` (default true): whether this replica runs the scheduler at all.
        public var enabled = true
        /// `refresh.concurrency` (default 4): scheduled upstream calls in flight per platform.
        public var concurrency = 4
        /// `refresh.max_backoff_seconds` (default 300): cap on the back-off after failed scheduled refreshes.
        public var maxBackoff = Duration.seconds(300)
        /// `refresh.lead_seconds` (default 0): how long before a token stops being fresh the
        /// scheduler renews it; 0 means two scheduler ticks.
        public var lead = Duration.zero
        /// `refresh.jitter_seconds` (default 10): largest random spread added to the lead.
        public var jitter = Duration.seconds(10)

        /// Whether this replica runs the scheduler.
        public var schedules: Bool { enabled && interval > .zero }

        /// The defaults.
        public init() {}
    }

    /// `platforms.*`.
    public struct PlatformSettings: Sendable {
        /// `platforms.timeout_ms` (default 10000): bound on one platform call.
        public var timeout = Duration.milliseconds(10000)
        /// `platforms.oauth2.allow_private_networks` (default false): whether an app's `token_url`
        /// may name a loopback or private address (link-local and metadata addresses are refused regardless).
        public var allowPrivateTokenURLs = false
        /// `platforms.<name>.base_url` by platform name, with `dingtalk.oapi`
        /// (`platforms.dingtalk.oapi_base_url`) and `oauth2.token_url` (`platforms.oauth2.token_url`);
        /// unset: the real addresses.
        public var baseURLs: [String: String] = [:]
        /// `platforms.<name>.early_seconds`: the margin of one platform, where it differs from `refresh.early_seconds`.
        public var early: [String: Duration] = [:]
        /// `platforms.<name>.daily_budget` and `platforms.<name>.forced_daily_budget`: the upstream
        /// calls and forced refreshes an app may spend per platform day before forced refreshes
        /// are refused (default: the documented quotas, `QuotaBudget.documented` — WeChat 2,000
        /// and 20; no budget elsewhere).
        public var budgets: [String: QuotaBudget] = QuotaBudget.documented

        /// The defaults.
        public init() {}
    }

    /// One app declared in configuration.
    public struct DeclaredApp: Sendable, Equatable {
        /// `project/platform/appid`.
        public var stream: String
        /// The secret (already resolved from `$VARIABLE` when written so).
        public var secret: String
        /// Platform options from `app_options` (e.g. `mode=classic`, `token_url=…`).
        public var options: [String: String] = [:]
    }

    /// `secrets.*`.
    public struct Secrets: Sendable {
        /// `secrets.key` (no default): base64 AES key; required in production.
        public var key: String?
        /// `secrets.key_id` (default `k1`): the id new values are sealed with.
        public var keyID = "k1"
        /// `secrets.previous_keys` (default none): `id:base64` keys that still open old events.
        public var previousKeys: [String] = []
        /// `secrets.key_file` (default `data/secrets.key`): where a development key is generated
        /// once when `secrets.key` is unset.
        public var keyFile = "data/secrets.key"

        /// The defaults.
        public init() {}
    }

    /// `auth.*`.
    public struct Auth: Sendable {
        /// `auth.mode` (default `keys`): API keys required, or `none` (anyone who reaches the port).
        public var mode = AccessControl.Mode.keys
        /// `auth.keys` (default none): `id:scopes:projects:sha256-hex` entries.
        public var keys: [String] = []
        /// `auth.allow_open_network` (default false): whether `auth.mode: none` may listen on a
        /// non-loopback host, so that open access to every token is never a side effect of `http.host`.
        public var allowOpenNetwork = false

        /// The defaults.
        public init() {}
    }

    /// `TOKENLEDGER_ENV` (default `development`).
    public var environment = Environment.development
    /// `node.name` (default host:port): this replica's name in events.
    public var nodeName: String?
    /// `http.*`.
    public var http = HTTP()
    /// `eventlog.*`.
    public var eventLog = EventLogSettings()
    /// `refresh.*`.
    public var refresh = Refresh()
    /// `platforms.*`.
    public var platforms = PlatformSettings()
    /// `secrets.*`.
    public var secrets = Secrets()
    /// `apps` and `app_options`: `project/platform/appid=secret` (or `=$VARIABLE`).
    public var apps: [DeclaredApp] = []
    /// `auth.*`.
    public var auth = Auth()
    /// `ui.*`: the dashboard's sessions.
    public var ui = Dashboard.Settings()
    /// `watch.*`: heartbeat, watchers per replica, longest watch.
    public var watch = WatchOptions()
    /// `log.level` (default `info`).
    public var logLevel = Logger.Level.info
    /// The shared read models: `redis.url`, `mysql.url`, `mongo.url`, `readmodels`, `readmodels_timeout_ms`.
    public var readModels = ReadModelSettings()
    /// The webhooks: `webhooks`, `webhooks_max_attempts`, `webhooks_backoff_ms`, `webhooks_max_backoff_ms`, `webhooks_timeout_ms`.
    public var webhooks = WebhookSettings()

    /// The defaults.
    public init() {}

    /// Whether `http.host` accepts connections from this machine only (`localhost`, 127.0.0.0/8, `::1`).
    public var listensOnLoopbackOnly: Bool {
        let host = http.host.trimmingCharacters(in: .whitespaces).lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Why `serve` must not start with this configuration, if it must not: `auth.mode: none` on a
    /// host that others can reach, without `auth.allow_open_network: true` saying it is meant.
    public var openAccessRefusal: String? {
        guard auth.mode == .none, !listensOnLoopbackOnly, !auth.allowOpenNetwork else { return nil }
        return "auth.mode is none and http.host \(http.host) is reachable from other machines: anyone could read every token. "
            + "Set auth.mode: keys, listen on 127.0.0.1, or set auth.allow_open_network: true (AUTH_ALLOW_OPEN_NETWORK=true) if open access is meant"
    }
}
