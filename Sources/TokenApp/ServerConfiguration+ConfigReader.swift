public import Configuration
import Foundation
import Platforms
import TokenLedger

extension ServerConfiguration {
    /// The platforms whose `platforms.<name>.base_url` is read.
    static let platformNames = ["wechat", "wecom", "feishu", "lark", "dingtalk", "douyin", "alipay", "oauth2"]

    /// Reads every key (see the README's configuration table); unset keys keep their defaults.
    public init(reader: ConfigReader, environment: String) throws {
        self.init()
        self.environment = environment
        nodeName = reader.string(forKey: "node.name")
        http.host = reader.string(forKey: "http.host", default: http.host)
        http.port = reader.int(forKey: "http.port", default: http.port)
        http.readYourWritesTimeoutMs = reader.int(forKey: "http.read_your_writes_timeout_ms", default: http.readYourWritesTimeoutMs)
        eventLog.url = reader.string(forKey: "eventlog.url", default: eventLog.url)
        eventLog.timeoutMs = reader.int(forKey: "eventlog.timeout_ms", default: eventLog.timeoutMs)
        eventLog.lockTimeoutMs = reader.int(forKey: "eventlog.lock_timeout_ms", default: eventLog.lockTimeoutMs)
        eventLog.connections = reader.int(forKey: "eventlog.connections", default: eventLog.connections)
        eventLog.lockConnections = reader.int(forKey: "eventlog.lock_connections", default: eventLog.lockConnections)
        eventLog.pollIntervalMs = reader.int(forKey: "eventlog.poll_interval_ms", default: eventLog.pollIntervalMs)
        readModels.redisURL = reader.string(forKey: "redis.url").flatMap { $0.isEmpty ? nil : $0 }
        readModels.mysqlURL = reader.string(forKey: "mysql.url").flatMap { $0.isEmpty ? nil : $0 }
        readModels.mongoURL = reader.string(forKey: "mongo.url").flatMap { $0.isEmpty ? nil : $0 }
        readModels.selection = reader.string(forKey: "readmodels", default: readModels.selection)
        readModels.timeoutMs = reader.int(forKey: "readmodels_timeout_ms", default: readModels.timeoutMs)
        refresh.earlySeconds = reader.double(forKey: "refresh.early_seconds", default: refresh.earlySeconds)
        refresh.maxEarlyFraction = reader.double(forKey: "refresh.max_early_fraction", default: refresh.maxEarlyFraction)
        refresh.intervalSeconds = reader.double(forKey: "refresh.interval_seconds", default: refresh.intervalSeconds)
        refresh.enabled = reader.bool(forKey: "refresh.enabled", default: refresh.enabled)
        refresh.concurrency = reader.int(forKey: "refresh.concurrency", default: refresh.concurrency)
        refresh.maxBackoffSeconds = reader.double(forKey: "refresh.max_backoff_seconds", default: refresh.maxBackoffSeconds)
        refresh.leadSeconds = reader.double(forKey: "refresh.lead_seconds", default: refresh.leadSeconds)
        refresh.jitterSeconds = reader.double(forKey: "refresh.jitter_seconds", default: refresh.jitterSeconds)
        for name in Self.platformNames {
            if let url = reader.string(forKey: ConfigKey("platforms.\(name).base_url")) {
                platformBaseURLs[name] = url
            }
            if let early = reader.double(forKey: ConfigKey("platforms.\(name).early_seconds")) {
                refresh.earlySecondsByPlatform[name] = early
            }
        }
        if let url = reader.string(forKey: "platforms.dingtalk.oapi_base_url") { platformBaseURLs["dingtalk.oapi"] = url }
        if let url = reader.string(forKey: "platforms.oauth2.token_url") { platformBaseURLs["oauth2.token_url"] = url }
        platformTimeoutMs = reader.int(forKey: "platforms.timeout_ms", default: platformTimeoutMs)
        allowPrivateTokenURLs = reader.bool(forKey: "platforms.oauth2.allow_private_networks", default: allowPrivateTokenURLs)
        secrets.key = reader.string(forKey: "secrets.key", isSecret: true)
        secrets.keyID = reader.string(forKey: "secrets.key_id", default: secrets.keyID)
        secrets.previousKeys = reader.stringArray(forKey: "secrets.previous_keys", isSecret: true, default: [])
        secrets.keyFile = reader.string(forKey: "secrets.key_file", default: secrets.keyFile)
        logLevel = reader.string(forKey: "log.level", default: logLevel)
        authMode = reader.string(forKey: "auth.mode", default: authMode)
        authKeys = reader.stringArray(forKey: "auth.keys", isSecret: true, default: [])
        authAllowOpenNetwork = reader.bool(forKey: "auth.allow_open_network", default: authAllowOpenNetwork)
        apps = try reader.stringArray(forKey: "apps", isSecret: true, default: []).map(Self.parseApp)
        for entry in reader.stringArray(forKey: "app_options", default: []) {
            let (stream, options) = try Self.parseAppOptions(entry)
            guard let index = apps.firstIndex(where: { $0.stream == stream }) else {
                throw LedgerError(.invalidInput, "app_options names \(stream), which is not in apps")
            }
            apps[index].options = options
        }
        try validate()
    }

    /// `project/platform/appid=secret`; a secret written `$NAME` is read from that environment variable.
    static func parseApp(_ entry: String) throws -> DeclaredApp {
        guard let equals = entry.firstIndex(of: "=") else {
            throw LedgerError(.invalidInput, "apps entries are written project/platform/appid=secret")
        }
        let stream = String(entry[..<equals]).trimmingCharacters(in: .whitespaces)
        var secret = String(entry[entry.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        _ = try StreamID(parsing: stream)
        if secret.hasPrefix("$") {
            let name = String(secret.dropFirst())
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw LedgerError(.invalidInput, "app \(stream) takes its secret from $\(name), which is not set")
            }
            secret = value
        }
        guard !secret.isEmpty else {
            throw LedgerError(.invalidInput, "app \(stream) has an empty secret")
        }
        return DeclaredApp(stream: stream, secret: secret)
    }

    /// `project/platform/appid key=value key=value`.
    static func parseAppOptions(_ entry: String) throws -> (String, [String: String]) {
        let words = entry.split(separator: " ", omittingEmptySubsequences: true)
        guard let stream = words.first else { throw LedgerError(.invalidInput, "an app_options entry is empty") }
        var options: [String: String] = [:]
        for word in words.dropFirst() {
            guard let equals = word.firstIndex(of: "=") else {
                throw LedgerError(.invalidInput, "app_options entries are written project/platform/appid key=value …")
            }
            options[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        return (String(stream), options)
    }

    /// The configuration key a `platformBaseURLs` entry was read from.
    static func configKey(ofPlatformURL name: String) -> String {
        switch name {
        case "oauth2.token_url": "platforms.oauth2.token_url"
        case "dingtalk.oapi": "platforms.dingtalk.oapi_base_url"
        default: "platforms.\(name).base_url"
        }
    }

    private func validate() throws {
        guard (1...65535).contains(http.port) || http.port == 0 else {
            throw LedgerError(.invalidInput, "http.port must be 0 to 65535, is \(http.port)")
        }
        guard refresh.earlySeconds >= 0, refresh.earlySecondsByPlatform.values.allSatisfy({ $0 >= 0 }),
            refresh.maxEarlyFraction > 0, refresh.maxEarlyFraction < 1, refresh.intervalSeconds >= 0, refresh.leadSeconds >= 0, refresh.jitterSeconds >= 0 else {
            throw LedgerError(.invalidInput, "refresh.* and platforms.*.early_seconds must not be negative; refresh.max_early_fraction is between 0 and 1")
        }
        guard refresh.concurrency >= 1, refresh.maxBackoffSeconds >= 1 else {
            throw LedgerError(.invalidInput, "refresh.concurrency and refresh.max_backoff_seconds must be at least 1")
        }
        guard eventLog.timeoutMs > 0, eventLog.lockTimeoutMs > 0, eventLog.connections > 1, eventLog.lockConnections > 0, eventLog.pollIntervalMs > 0, platformTimeoutMs > 0 else {
            throw LedgerError(.invalidInput, "timeouts and intervals must be positive")
        }
        guard readModels.timeoutMs > 0 else {
            throw LedgerError(.invalidInput, "readmodels_timeout_ms must be positive")
        }
        _ = try readModels.selected()
        // Operators set these, so only their scheme is checked (an app's token_url is checked in full).
        for (name, url) in platformBaseURLs.sorted(by: { $0.key < $1.key }) {
            try TokenURLPolicy.host(of: url, name: Self.configKey(ofPlatformURL: name))
        }
        if environment == "production", secrets.key == nil {
            throw LedgerError(.invalidInput, "secrets.key (SECRETS_KEY) is required in production")
        }
    }
}
