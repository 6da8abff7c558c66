import Foundation
import TokenApp
import TokenLedger
import Testing

/// `webhooks` and `webhooks_*`: read once, checked, secrets never shown.
struct WebhookConfigurationTests {
    static let postgres = "postgres://ledger:pw@127.0.0.1:5432/ledger"

    @Test func entriesAreReadWithTheirEventsProjectsAndBounds() async throws {
        // A `$NAME` secret is read from the process environment, as `apps` secrets are.
        setenv("TL_TEST_HOOK_SECRET", "whsec_from_env", 1)
        let configuration = try await AppFixture.load([
            "EVENTLOG_URL": Self.postgres,
            "WEBHOOKS": "alerts url=https://hooks.example.com/tl secret=$TL_TEST_HOOK_SECRET events=token.refresh_failed+app.parked projects=demo+shop,"
                + "all url=https://audit.example.com/in secret=whsec_inline",
            "WEBHOOKS_MAX_ATTEMPTS": "3",
            "WEBHOOKS_BACKOFF_MS": "250",
        ])
        let webhooks = configuration.webhooks
        #expect(webhooks.subscriptions.map(\.id) == ["alerts", "all"])
        let alerts = webhooks.subscriptions[0]
        #expect(alerts.url == "https://hooks.example.com/tl")
        #expect(alerts.secret == "whsec_from_env")
        #expect(alerts.events == [.refreshFailed, .appParked])
        #expect(alerts.projects == ["demo", "shop"])
        #expect(webhooks.subscriptions[1].events == Set(WebhookEventType.allCases), "every event type unless told")
        #expect(webhooks.subscriptions[1].projects.isEmpty, "every project unless told")
        #expect((webhooks.maxAttempts, webhooks.backoff, webhooks.maxBackoff, webhooks.timeout) == (3, .milliseconds(250), .seconds(60), .seconds(10)))
        #expect(webhooks.subscriptions.allSatisfy { !"\($0)".contains("whsec_") }, "secrets are masked wherever printed")
    }

    @Test func theEmbeddedLogRefusesWebhooks() async throws {
        let error = try await #require(throws: ConfigurationFailure.self) {
            try await AppFixture.load(["WEBHOOKS": "a url=https://hooks.example.com secret=s"])
        }
        #expect(error.message.hasPrefix("webhooks need the PostgreSQL log (eventlog.url: postgres://…)"))
        #expect(try await AppFixture.load([:]).webhooks.subscriptions.isEmpty, "no webhook, no PostgreSQL needed")
    }

    @Test(arguments: [
        ("a secret=s", "webhook a has no url"),
        ("a url=https://x.example", "webhook a has no secret"),
        ("a url=ftp://x.example secret=s", "the url of webhook a must be an http or https URL"),
        ("a url=https://x.example secret=s events=token.issued+token.eaten", "webhook a: unknown event 'token.eaten'; known: token.issued, token.refresh_failed, token.recovered, app.parked"),
        ("a url=https://x.example secret=s retries=3", "webhook a: unknown field 'retries'; webhooks entries are written ID url=URL secret=SECRET [events=a+b] [projects=p+q]"),
        ("a url=https://x.example secret=s,a url=https://y.example secret=t", "webhooks: the id a is used twice"),
        ("a url=https://x.example secret=$NOT_SET_ANYWHERE", "webhook a takes its secret from $NOT_SET_ANYWHERE, which is not set"),
        ("a/b url=https://x.example secret=s", "webhooks: the id 'a/b' may hold letters, digits, '-', '_' and '.' only"),
    ])
    func aBadEntryIsRefusedWithoutItsSecret(entry: String, message: String) async throws {
        let error = try await #require(throws: ConfigurationFailure.self) {
            try await AppFixture.load(["EVENTLOG_URL": Self.postgres, "WEBHOOKS": entry])
        }
        #expect(error.message == message)
    }

    @Test func boundsMustBePositive() async throws {
        for (key, message) in [("WEBHOOKS_MAX_ATTEMPTS", "webhooks_max_attempts must be at least 1, is 0"), ("WEBHOOKS_TIMEOUT_MS", "webhooks_timeout_ms must be positive, is 0")] {
            let error = try await #require(throws: ConfigurationFailure.self) {
                try await AppFixture.load(["EVENTLOG_URL": Self.postgres, key: "0"])
            }
            #expect(error.message == message)
        }
    }
}
