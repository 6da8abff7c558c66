import Foundation
import TokenLedger

/// Everything the service reads from configuration, with the defaults of `config/default.yaml`.
public struct ServerConfiguration: Sendable {
    /// `http.*`: where to listen.
    public struct HTTP: Sendable {
        /// `http.host`.
        public var host = "127.0.0.1"
        /// `http.port`: the original service's port.
        public var port = 3050
        /// `http.read_your_writes_timeout_ms`: how long a read waits to reach a position the caller has seen.
        public var readYourWritesTimeoutMs = 1000
    }

    /// `eventlog.*`: the log.
    public struct EventLogSettings: Sendable {
        /// `eventlog.url`: `postgres://…` or `sqlite:PATH`.
        public var url = "sqlite:data/ledger.sqlite"
        /// `eventlog.timeout_ms`: bound on every query.
        public var timeoutMs = 5000
        /// `eventlog.lock_timeout_ms`: bound on waiting for another replica's refresh, and on how
        /// long a refresh may hold its lock.
        public var lockTimeoutMs = 30000
        /// `eventlog.connections`: the pooled connections queries share.
        public var connections = 20
        /// `eventlog.lock_connections`: the most connections refresh locks hold at once.
        public var lockConnections = 16
        /// `eventlog.poll_interval_ms`: the projector's safety-net poll.
        public var pollIntervalMs = 2000
    }

    /// `refresh.*`.
    public struct Refresh: Sendable {
        /// `refresh.early_seconds` (*premature_failure*).
        public var earlySeconds = 300.0
        /// `platforms.<name>.early_seconds`: the margin of one platform, where it differs.
        public var earlySecondsByPlatform: [String: Double] = [:]
        /// `refresh.max_early_fraction`: the margin never takes more of a token's life than this.
        public var maxEarlyFraction = 0.2
        /// `refresh.interval_seconds` (*corn_interval*); 0 turns the scheduler off.
        public var intervalSeconds = 60.0
        /// `refresh.enabled`: whether this replica runs the scheduler at all.
        public var enabled = true
        /// `refresh.concurrency`: scheduled upstream calls in flight per platform.
        public var concurrency = 4
        /// `refresh.max_backoff_seconds`: cap on the back-off after failed scheduled refreshes.
        public var maxBackoffSeconds = 300.0
        /// `refresh.lead_seconds`: how long before a token stops being fresh the scheduler renews it;
        /// 0 means two scheduler ticks.
        public var leadSeconds = 0.0
        /// `refresh.jitter_seconds`: largest random spread added to the lead.
        public var jitterSeconds = 10.0
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
        /// `secrets.key`: base64 AES key; required in production.
        public var key: String?
        /// `secrets.key_id`: the id new values are sealed with.
        public var keyID = "k1"
        /// `secrets.previous_keys`: `id:base64` keys that still open old events.
        public var previousKeys: [String] = []
        /// `secrets.key_file`: where a development key is generated once when `secrets.key` is unset.
        public var keyFile = "data/secrets.key"
    }

    /// `TOKENLEDGER_ENV`: development, test or production.
    public var environment = "development"
    /// `node.name`: this replica's name in events; defaults to host:port.
    public var nodeName: String?
    /// `http.*`.
    public var http = HTTP()
    /// `eventlog.*`.
    public var eventLog = EventLogSettings()
    /// `refresh.*`.
    public var refresh = Refresh()
    /// `platforms.<name>.base_url`.
    public var platformBaseURLs: [String: String] = [:]
    /// `platforms.timeout_ms`: bound on one platform call.
    public var platformTimeoutMs = 10000
    /// `platforms.oauth2.allow_private_networks`: whether an app's `token_url` may name a loopback
    /// or private address (link-local and metadata addresses are refused regardless).
    public var allowPrivateTokenURLs = false
    /// `secrets.*`.
    public var secrets = Secrets()
    /// `apps`: `project/platform/appid=secret` (or `=$VARIABLE`).
    public var apps: [DeclaredApp] = []
    /// `auth.mode`: `keys` (API keys required) or `none` (anyone who reaches the port).
    public var authMode = "keys"
    /// `auth.keys`: `id:scopes:projects:sha256-hex` entries.
    public var authKeys: [String] = []
    /// `auth.allow_open_network`: whether `auth.mode: none` may listen on a non-loopback host.
    /// Off by default, so that open access to every token is never a side effect of `http.host`.
    public var authAllowOpenNetwork = false
    /// `log.level`.
    public var logLevel = "info"
    /// The shared read models.
    public var readModels = ReadModelSettings()

    /// `redis.url`, `mysql.url`, `mongo.url` and `readmodels`.
    public struct ReadModelSettings: Sendable {
        /// `redis.url`: `redis://[:password@]host[:port][/db]`.
        public var redisURL: String?
        /// `mysql.url`: `mysql://user[:password]@host[:port]/database`.
        public var mysqlURL: String?
        /// `mongo.url`: a MongoDB connection string naming the database.
        public var mongoURL: String?
        /// `readmodels`: `auto`, `all`, or a comma-separated list of `memory,redis,mysql,mongo`.
        public var selection = "auto"
        /// `readmodels_timeout_ms`: bound on every call to a shared read model.
        public var timeoutMs = 2000

        /// The shared models to run, fastest first (memory is always kept: every replica serves from it).
        public func selected() throws -> [(name: String, url: String)] {
            let configured: [(String, String?)] = [("redis", redisURL), ("mysql", mysqlURL), ("mongo", mongoURL)]
            let names: [String]
            switch selection.trimmingCharacters(in: .whitespaces) {
            case "auto", "":
                return configured.compactMap { name, url in url.map { (name, $0) } }
            case "all":
                names = configured.map(\.0)
            default:
                names = selection.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            }
            for name in names where !["memory", "redis", "mysql", "mongo"].contains(name) {
                throw LedgerError(.invalidInput, "readmodels: unknown read model '\(name)'; known: memory, redis, mysql, mongo")
            }
            return try configured.compactMap { name, url in
                guard names.contains(name) else { return nil }
                guard let url, !url.isEmpty else {
                    throw LedgerError(.invalidInput, "readmodels names \(name) but \(name).url is not set")
                }
                return (name, url)
            }
        }
    }

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
        guard authMode == "none", !listensOnLoopbackOnly, !authAllowOpenNetwork else { return nil }
        return "auth.mode is none and http.host \(http.host) is reachable from other machines: anyone could read every token. "
            + "Set auth.mode: keys, listen on 127.0.0.1, or set auth.allow_open_network: true (AUTH_ALLOW_OPEN_NETWORK=true) if open access is meant"
    }
}
