import Logging
import TokenApp
import TokenHTTP
import TokenLedger
import Testing

/// Configuration is read once into typed values; a bad value is one error type naming its key.
struct ConfigurationTests {
    @Test func defaultsAndTypedValues() async throws {
        let configuration = try await AppFixture.load([
            "EVENTLOG_URL": "postgres://ledger:pw@127.0.0.1:5432/ledger",
            "EVENTLOG_TIMEOUT_MS": "1500",
            "REFRESH_INTERVAL_SECONDS": "2.5",
            "PLATFORMS_FEISHU_EARLY_SECONDS": "1800",
            "LOG_LEVEL": "debug",
            "AUTH_MODE": "none",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "READMODELS": "memory,redis",
        ])
        #expect(configuration.environment == .test)
        #expect(configuration.http.port == 3050)
        #expect(configuration.eventLog.url == .postgres("postgres://ledger:pw@127.0.0.1:5432/ledger"))
        #expect("\(configuration.eventLog.url)" == "postgres://ledger:***@127.0.0.1:5432/ledger", "the password never shows")
        #expect(configuration.eventLog.timeout == .milliseconds(1500))
        #expect(configuration.eventLog.lockTimeout == .seconds(30))
        #expect(configuration.refresh.interval == .milliseconds(2500))
        #expect(configuration.platforms.early["feishu"] == .seconds(1800))
        #expect(configuration.logLevel == .debug)
        #expect(configuration.auth.mode == AccessControl.Mode.none)
        #expect(configuration.readModels.selection == .only([.redis]))
        #expect(try configuration.readModels.selected().map(\.store) == [.redis])
        let embedded = try await AppFixture.load(["EVENTLOG_URL": "sqlite:/tmp/x/ledger.sqlite"])
        #expect(embedded.eventLog.url == .sqlite(path: "/tmp/x/ledger.sqlite"))
        #expect(embedded.refresh.schedules == false, "test.yaml turns the scheduler off")
        #expect(embedded.watch == WatchOptions(), "watch.* defaults: 15 s heartbeat, 1000 watchers, 3600 s")
        #expect(embedded.eventLog.snapshotEvery == 10_000)
        #expect(try await AppFixture.load(["EVENTLOG_SNAPSHOT_EVERY": "0"]).eventLog.snapshotEvery == 0, "0 turns snapshots off")
        let watch = try await AppFixture.load(["WATCH_HEARTBEAT_MS": "500", "WATCH_MAX_WATCHERS": "20", "WATCH_MAX_SECONDS": "0"]).watch
        #expect(watch.heartbeat == .milliseconds(500) && watch.maxWatchers == 20 && watch.maxDuration == nil)
    }

    @Test(arguments: [
        ("HTTP_PORT", "70000", "http.port must be 0 to 65535, is 70000"),
        ("AUTH_MODE", "open", "auth.mode must be keys or none, is 'open'"),
        ("LOG_LEVEL", "loud", "log.level must be trace, debug, info, notice, warning, error or critical, is 'loud'"),
        ("EVENTLOG_URL", "mysql://u:secret@db/x", "eventlog.url must start with postgres:// or sqlite:, is 'mysql://u:***@db/x'"),
        ("EVENTLOG_TIMEOUT_MS", "0", "eventlog.timeout_ms must be positive, is 0"),
        ("EVENTLOG_SNAPSHOT_EVERY", "-1", "eventlog.snapshot_every must be 0 (no snapshots) or positive, is -1"),
        ("PLATFORMS_TIMEOUT_MS", "-5", "platforms.timeout_ms must be positive, is -5"),
        ("READMODELS", "memory,cassandra", "readmodels: unknown read model 'cassandra'; known: memory, redis, mysql, mongo"),
        ("READMODELS", "mysql", "readmodels names mysql but mysql.url is not set"),
        ("REFRESH_CONCURRENCY", "0", "refresh.concurrency and refresh.max_backoff_seconds must be at least 1"),
        ("PLATFORMS_WECHAT_BASE_URL", "ftp://example.com", "platforms.wechat.base_url must be an http or https URL"),
        ("APPS", "demo/wechat/wx1", "apps entries are written project/platform/appid=secret"),
        ("PLATFORMS_WECHAT_FORCED_DAILY_BUDGET", "-1", "platforms.wechat.forced_daily_budget must not be negative, is -1"),
        ("WATCH_MAX_WATCHERS", "0", "watch.max_watchers must be positive, is 0"),
        ("WATCH_HEARTBEAT_MS", "0", "watch.heartbeat_ms must be positive, is 0"),
        ("TOKENLEDGER_ENV", "staging", "TOKENLEDGER_ENV must be development, test or production, is 'staging'"),
    ])
    func aBadValueNamesItsKey(variable: String, value: String, message: String) async throws {
        let error = try await #require(throws: ConfigurationFailure.self) {
            try await AppFixture.load([variable: value])
        }
        #expect(error.message == message)
    }

    @Test func budgetsDefaultToTheDocumentedQuotasAndAreSetPerPlatform() async throws {
        let defaults = try await AppFixture.load([:])
        #expect(defaults.platforms.budgets["wechat"] == QuotaBudget(daily: 2000, forcedDaily: 20))
        #expect(defaults.platforms.budgets["feishu"] == nil, "no documented quota, no budget")
        let set = try await AppFixture.load(["PLATFORMS_WECHAT_FORCED_DAILY_BUDGET": "3", "PLATFORMS_DINGTALK_DAILY_BUDGET": "500"])
        #expect(set.platforms.budgets["wechat"] == QuotaBudget(daily: 2000, forcedDaily: 3))
        #expect(set.platforms.budgets["dingtalk"] == QuotaBudget(daily: 500, forcedDaily: nil))
    }

    @Test func authKeysAreCheckedWithTheConfiguration() async throws {
        let empty = try await #require(throws: ConfigurationFailure.self) {
            try await AppFixture.load(["AUTH_MODE": "keys"])
        }
        #expect(empty.message.hasPrefix("auth.mode is keys but auth.keys is empty"))
        let (_, entry) = AccessControl.newKey(id: "ci", scopes: [.read], projects: ["demo"])
        let keys = try await AppFixture.load(["AUTH_MODE": "keys", "AUTH_KEYS": entry])
        #expect(keys.auth.mode == .keys)
        #expect(keys.auth.keys == [entry])
    }

    @Test func productionNeedsASecretsKey() async throws {
        let error = try await #require(throws: ConfigurationFailure.self) {
            try await AppFixture.load(["TOKENLEDGER_ENV": "production", "AUTH_MODE": "none"])
        }
        #expect(error.message == "secrets.key (SECRETS_KEY) is required in production")
    }
}
