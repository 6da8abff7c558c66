import LedgerTestSupport
import TokenApp
import Testing

/// `tokenledger config`: every key with its value, secrets masked, and the layer that set it.
struct ConfigurationReportTests {
    static func report(_ environment: [String: String]) async throws -> [String: ConfigurationReport.Entry] {
        let report = try await ConfigurationReport.load(
            directory: TestEnvironment.repositoryRoot + "/config", environment: ["TOKENLEDGER_ENV": "test"].merging(environment) { $1 }
        )
        return Dictionary(report.entries.map { ($0.key, $0) }) { first, _ in first }
    }

    @Test func eachKeySaysWhichLayerSetItAndSecretsAreMasked() async throws {
        let key = "c2VjcmV0LWtleS1ieXRlcy0zMi1sb25nLXh4eHh4eHg="
        let entries = try await Self.report([
            "SECRETS_KEY": key,
            "HTTP_PORT": "3999",
            "EVENTLOG_URL": "postgres://ledger:hunter2@db:5432/ledger",
            "APPS": "demo/wechat/wx1=plain-secret,demo/wechat/wx2=other-secret",
            "WEBHOOKS": "alerts url=https://hooks.example.com/tl secret=hook-secret-1 events=app.parked,pager url=https://pager.example.com/x secret=$HOME",
        ])
        #expect(entries["http.port"] == .init(key: "http.port", value: "3999", layer: "environment (HTTP_PORT)"))
        #expect(entries["secrets.key"]?.value == "********")
        #expect(entries["secrets.key"]?.layer == "environment (SECRETS_KEY)")
        #expect(entries["eventlog.url"]?.value == "postgres://ledger:***@db:5432/ledger")
        #expect(entries["apps"]?.value == "[demo/wechat/wx1=********, demo/wechat/wx2=********]", "which apps, not their secrets")
        #expect(
            entries["webhooks"]?.value
                == "[alerts url=https://hooks.example.com/tl secret=******** events=app.parked, pager url=https://pager.example.com/x secret=$HOME]",
            "which webhooks, not their secrets"
        )
        #expect(entries["log.level"] == .init(key: "log.level", value: "warning", layer: "config/test.yaml"))
        #expect(entries["http.host"] == .init(key: "http.host", value: "127.0.0.1", layer: "config/default.yaml"))
        #expect(entries["refresh.lead_seconds"]?.layer == "config/default.yaml")
        #expect(entries["refresh.max_early_fraction"]?.layer == "config/default.yaml")
        #expect(entries["node.name"] == .init(key: "node.name", value: "(unset)", layer: "default"))
        #expect(entries["platforms.wecom.daily_budget"]?.layer == "default")
        let all = try await ConfigurationReport.load(
            directory: TestEnvironment.repositoryRoot + "/config", environment: ["TOKENLEDGER_ENV": "test", "SECRETS_KEY": key]
        )
        #expect(!all.lines.joined().contains(key), "no secret is printed")
    }

    @Test func aBadValueFailsAsItWouldStopAStart() async throws {
        await #expect(throws: (any Error).self) { _ = try await Self.report(["HTTP_PORT": "70000"]) }
    }
}
