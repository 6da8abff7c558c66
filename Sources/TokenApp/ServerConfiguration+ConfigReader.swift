public import Configuration
import Foundation
import Logging
import Platforms
import ReadModelSupport
import TokenLedger
import TokenHTTP
public import TokenUI

extension ServerConfiguration {
    /// Reads every key (see the README's configuration table), each part from its own scope;
    /// unset keys keep their defaults, and a bad value is a `ConfigurationFailure` naming its key.
    public init(reader: ConfigReader, environment: Environment) throws {
        self.init()
        self.environment = environment
        nodeName = reader.string(forKey: "node.name")
        http = try HTTP(reader: reader.scoped(to: "http"))
        eventLog = try EventLogSettings(reader: reader.scoped(to: "eventlog"))
        readModels = try ReadModelSettings(reader: reader)
        refresh = try Refresh(reader: reader.scoped(to: "refresh"))
        platforms = try PlatformSettings(reader: reader.scoped(to: "platforms"))
        secrets = Secrets(reader: reader.scoped(to: "secrets"))
        logLevel = try reader.scoped(to: "log").parsed("level", in: "log", default: logLevel, expected: "trace, debug, info, notice, warning, error or critical") {
            Logger.Level(rawValue: $0)
        }
        auth = try Auth(reader: reader.scoped(to: "auth"))
        ui = try Dashboard.Settings(reader: reader.scoped(to: "ui"))
        watch = try WatchOptions(reader: reader.scoped(to: "watch"))
        apps = try DeclaredApp.read(reader)
        webhooks = try WebhookSettings(reader: reader)
        try webhooks.checkLog(eventLog.url)
        if environment == .production, secrets.key == nil {
            throw ConfigurationFailure(message: "secrets.key (SECRETS_KEY) is required in production")
        }
    }
}

extension ServerConfiguration.HTTP {
    /// Reads `http.*` from a reader scoped to `http`.
    public init(reader: ConfigReader) throws {
        self.init()
        host = reader.string(forKey: "host", default: host)
        port = reader.int(forKey: "port", default: port)
        guard (1...65535).contains(port) || port == 0 else {
            throw ConfigurationFailure(message: "http.port must be 0 to 65535, is \(port)")
        }
        readYourWritesTimeout = .milliseconds(reader.int(forKey: "read_your_writes_timeout_ms", default: Int(readYourWritesTimeout.milliseconds)))
        idleTimeout = try reader.positiveMilliseconds("idle_timeout_ms", in: "http", default: idleTimeout)
    }
}

extension Dashboard.Settings {
    /// Reads `ui.*` from a reader scoped to `ui`.
    public init(reader: ConfigReader) throws {
        self.init()
        let hours = reader.int(forKey: "session_hours", default: Int(sessionLifetime.components.seconds / 3600))
        guard (1...720).contains(hours) else {
            throw ConfigurationFailure(message: "ui.session_hours must be 1 to 720, is \(hours)")
        }
        sessionLifetime = .seconds(hours * 3600)
        secureCookie = reader.bool(forKey: "secure_cookie", default: secureCookie)
    }
}

extension ServerConfiguration.EventLogSettings {
    /// Reads `eventlog.*` from a reader scoped to `eventlog`.
    public init(reader: ConfigReader) throws {
        self.init()
        if let text = reader.string(forKey: "url") { url = try EventLogURL(parsing: text) }
        timeout = try reader.positiveMilliseconds("timeout_ms", in: "eventlog", default: timeout)
        lockTimeout = try reader.positiveMilliseconds("lock_timeout_ms", in: "eventlog", default: lockTimeout)
        connections = reader.int(forKey: "connections", default: connections)
        lockConnections = reader.int(forKey: "lock_connections", default: lockConnections)
        pollInterval = try reader.positiveMilliseconds("poll_interval_ms", in: "eventlog", default: pollInterval)
        snapshotEvery = Int64(reader.int(forKey: "snapshot_every", default: Int(snapshotEvery)))
        guard snapshotEvery >= 0 else {
            throw ConfigurationFailure(message: "eventlog.snapshot_every must be 0 (no snapshots) or positive, is \(snapshotEvery)")
        }
        guard connections > 1 else {
            throw ConfigurationFailure(message: "eventlog.connections must be at least 2, is \(connections)")
        }
        guard lockConnections > 0 else {
            throw ConfigurationFailure(message: "eventlog.lock_connections must be positive, is \(lockConnections)")
        }
    }
}

extension ReadModelSettings {
    /// Reads `redis.url`, `mysql.url`, `mongo.url`, `readmodels` and `readmodels_timeout_ms`
    /// from the root reader (they are top-level keys).
    public init(reader: ConfigReader) throws {
        self.init()
        for store in Store.allCases {
            if let url = reader.scoped(to: ConfigKey(store.rawValue)).string(forKey: "url"), !url.isEmpty { urls[store] = url }
        }
        selection = try Selection(parsing: reader.string(forKey: "readmodels", default: "auto"))
        let timeout = reader.int(forKey: "readmodels_timeout_ms", default: Int(self.timeout.milliseconds))
        guard timeout > 0 else {
            throw ConfigurationFailure(message: "readmodels_timeout_ms must be positive")
        }
        self.timeout = .milliseconds(timeout)
        _ = try selected()
    }
}

extension ServerConfiguration.Refresh {
    /// Reads `refresh.*` from a reader scoped to `refresh`.
    public init(reader: ConfigReader) throws {
        self.init()
        let early = reader.double(forKey: "early_seconds", default: self.early.seconds)
        maxEarlyFraction = reader.double(forKey: "max_early_fraction", default: maxEarlyFraction)
        let interval = reader.double(forKey: "interval_seconds", default: self.interval.seconds)
        enabled = reader.bool(forKey: "enabled", default: enabled)
        concurrency = reader.int(forKey: "concurrency", default: concurrency)
        let maxBackoff = reader.double(forKey: "max_backoff_seconds", default: self.maxBackoff.seconds)
        let lead = reader.double(forKey: "lead_seconds", default: self.lead.seconds)
        let jitter = reader.double(forKey: "jitter_seconds", default: self.jitter.seconds)
        guard early >= 0, maxEarlyFraction > 0, maxEarlyFraction < 1, interval >= 0, lead >= 0, jitter >= 0 else {
            throw ConfigurationFailure(
                message: "refresh.* and platforms.*.early_seconds must not be negative; refresh.max_early_fraction is between 0 and 1"
            )
        }
        guard concurrency >= 1, maxBackoff >= 1 else {
            throw ConfigurationFailure(message: "refresh.concurrency and refresh.max_backoff_seconds must be at least 1")
        }
        (self.early, self.interval, self.maxBackoff, self.lead, self.jitter) =
            (.seconds(early), .seconds(interval), .seconds(maxBackoff), .seconds(lead), .seconds(jitter))
    }
}

extension ServerConfiguration.PlatformSettings {
    /// Reads `platforms.*` from a reader scoped to `platforms`, for every platform of
    /// `PlatformRegistry.names`.
    public init(reader: ConfigReader) throws {
        self.init()
        for name in PlatformRegistry.names {
            let platform = reader.scoped(to: ConfigKey(name))
            if let url = platform.string(forKey: "base_url") { baseURLs[name] = url }
            if let early = platform.double(forKey: "early_seconds") {
                guard early >= 0 else {
                    throw ConfigurationFailure(
                        message: "refresh.* and platforms.*.early_seconds must not be negative; refresh.max_early_fraction is between 0 and 1"
                    )
                }
                self.early[name] = .seconds(early)
            }
            let budget = try Self.budget(platform, name: name, default: budgets[name] ?? QuotaBudget())
            budgets[name] = budget == QuotaBudget() ? nil : budget
        }
        if let url = reader.string(forKey: "dingtalk.oapi_base_url") { baseURLs["dingtalk.oapi"] = url }
        if let url = reader.string(forKey: "oauth2.token_url") { baseURLs["oauth2.token_url"] = url }
        timeout = try reader.positiveMilliseconds("timeout_ms", in: "platforms", default: timeout)
        allowPrivateTokenURLs = reader.bool(forKey: "oauth2.allow_private_networks", default: allowPrivateTokenURLs)
        // Operators set these, so only their scheme is checked (an app's token_url is checked in full).
        for (name, url) in baseURLs.sorted(by: { $0.key < $1.key }) {
            _ = try ConfigurationFailure.rethrowing { try TokenURLPolicy.host(of: url, name: Self.configKey(ofURL: name)) }
        }
    }

    /// `platforms.<name>.daily_budget` and `forced_daily_budget` over `value`, from a reader
    /// scoped to the platform: non-negative integers.
    static func budget(_ reader: ConfigReader, name: String, default value: QuotaBudget) throws -> QuotaBudget {
        var budget = value
        for (key, path) in [("daily_budget", \QuotaBudget.daily), ("forced_daily_budget", \QuotaBudget.forcedDaily)] {
            guard let limit = reader.int(forKey: ConfigKey(key)) else { continue }
            guard limit >= 0 else {
                throw ConfigurationFailure(message: "platforms.\(name).\(key) must not be negative, is \(limit)")
            }
            budget[keyPath: path] = limit
        }
        return budget
    }

    /// The configuration key a `baseURLs` entry was read from.
    static func configKey(ofURL name: String) -> String {
        switch name {
        case "oauth2.token_url": "platforms.oauth2.token_url"
        case "dingtalk.oapi": "platforms.dingtalk.oapi_base_url"
        default: "platforms.\(name).base_url"
        }
    }
}

extension ServerConfiguration.Secrets {
    /// Reads `secrets.*` from a reader scoped to `secrets`.
    public init(reader: ConfigReader) {
        self.init()
        key = reader.string(forKey: "key", isSecret: true)
        keyID = reader.string(forKey: "key_id", default: keyID)
        previousKeys = reader.stringArray(forKey: "previous_keys", isSecret: true, default: [])
        keyFile = reader.string(forKey: "key_file", default: keyFile)
    }
}

extension ServerConfiguration.Auth {
    /// Reads `auth.*` from a reader scoped to `auth`. The keys are checked here, so that a bad
    /// entry is a configuration error; `buildApplication` builds the access control that serves.
    public init(reader: ConfigReader) throws {
        self.init()
        mode = try reader.parsed("mode", in: "auth", default: mode, expected: "keys or none") { AccessControl.Mode(rawValue: $0) }
        keys = reader.stringArray(forKey: "keys", isSecret: true, default: [])
        allowOpenNetwork = reader.bool(forKey: "allow_open_network", default: allowOpenNetwork)
        _ = try AccessControl(mode: mode, entries: keys)
    }
}

extension ConfigReader {
    /// The value of `key` turned into `Value` by `parse`, or a `ConfigurationFailure` naming the
    /// key, what it may be, and the value.
    /// (`scope` is this reader's, for the message: swift-configuration keeps it to itself.)
    func parsed<Value>(_ key: String, in scope: String, default value: Value, expected: String, _ parse: (String) -> Value?) throws -> Value {
        guard let text = string(forKey: ConfigKey(key)) else { return value }
        guard let parsed = parse(text) else {
            throw ConfigurationFailure(message: "\(scope).\(key) must be \(expected), is '\(text)'")
        }
        return parsed
    }

    /// A positive `…_ms` key as a `Duration`.
    func positiveMilliseconds(_ key: String, in scope: String, default value: Duration) throws -> Duration {
        let milliseconds = int(forKey: ConfigKey(key), default: Int(value.milliseconds))
        guard milliseconds > 0 else {
            throw ConfigurationFailure(message: "\(scope).\(key) must be positive, is \(milliseconds)")
        }
        return .milliseconds(milliseconds)
    }

}

extension ConfigurationFailure {
    /// Runs `body`, turning a `LedgerError` (from a parser shared with the domain) into a
    /// `ConfigurationFailure` with the same words.
    static func rethrowing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as LedgerError {
            throw ConfigurationFailure(message: error.message)
        }
    }
}

extension Duration {
    /// The duration in seconds, as the domain's policies count them.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

