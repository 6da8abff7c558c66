import Foundation
import LedgerTestSupport
import Testing
import TokenLedger

/// What webhooks derive while folding the log: recoveries and parkings, the same on any leader.
struct WebhookFoldTests {
    /// Folds the whole log; the webhook events in order.
    static func fold(_ log: InMemoryEventLog, from fold: WebhookFold = WebhookFold()) async throws -> [WebhookEvent] {
        var fold = fold
        return try await log.readAll(after: 0, limit: 1000).compactMap { fold.apply($0) }
    }

    @Test func firstTokenAfterFailuresIsARecovery() async throws {
        let log = InMemoryEventLog()
        try await EventWriter.append(EventWriter.issued(), to: log)
        try await EventWriter.append(EventWriter.failed(.upstreamBusy), to: log)
        try await EventWriter.append(EventWriter.failed(.upstreamUnreachable), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log)
        let events = try await Self.fold(log)
        #expect(events.map(\.types) == [[.tokenIssued], [.refreshFailed], [.refreshFailed], [.tokenIssued, .tokenRecovered], [.tokenIssued]])
        #expect(events[3].type == .tokenRecovered)
        #expect(events[3].failures == 2)
        #expect(events[4].failures == nil, "only the first success after failures is a recovery")
        #expect(events.map(\.id) == ["1", "2", "3", "4", "5"], "each webhook event's id is its log position")
    }

    @Test func supersededFetchesAndBudgetRefusalsAreNotFailures() async throws {
        let log = InMemoryEventLog()
        try await EventWriter.append(RefreshFailed(code: RefreshFailed.superseded, platformCode: nil, platformMessage: nil, reason: .forced), to: log)
        try await EventWriter.append(EventWriter.failed(.quotaBudgetExhausted), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log)
        let events = try await Self.fold(log)
        #expect(events.map(\.types) == [[.tokenIssued]])
    }

    @Test func rejectedCredentialsParkTheAppOnceUntilANewSecret() async throws {
        let log = InMemoryEventLog()
        try await EventWriter.append(EventWriter.failed(.upstreamRejectedCredentials), to: log)
        try await EventWriter.append(EventWriter.failed(.upstreamRejectedCredentials), to: log)
        try await EventWriter.append(CredentialsSet(secret: SealedValue(text: "v1:k1:secret")), to: log)
        try await EventWriter.append(EventWriter.failed(.upstreamRejectedCredentials), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log)
        let events = try await Self.fold(log)
        #expect(events.map(\.types) == [[.refreshFailed, .appParked], [.refreshFailed], [.refreshFailed, .appParked], [.tokenIssued, .tokenRecovered]])
        #expect(events[0].type == .appParked)
        #expect(events[0].error == "upstream_rejected_credentials")
        #expect(events[3].failures == 3, "failures stay counted across a new secret until a token closes them")
    }

    @Test func anExhaustedQuotaParksTheAppOncePerPlatformDay() async throws {
        let clock = TestClock(start: Date(timeIntervalSince1970: 1_800_000_000))
        let log = InMemoryEventLog(now: { clock.now })
        try await EventWriter.append(EventWriter.failed(.upstreamQuotaExhausted), to: log)
        clock.advance(by: 60)
        try await EventWriter.append(EventWriter.failed(.upstreamQuotaExhausted), to: log)
        clock.advance(by: 86_400)
        try await EventWriter.append(EventWriter.failed(.upstreamQuotaExhausted), to: log)
        let events = try await Self.fold(log)
        #expect(events.map(\.types) == [[.refreshFailed, .appParked], [.refreshFailed], [.refreshFailed, .appParked]])
    }

    @Test func aLeaderThatFoldsFromTheStartDerivesWhatTheOneBeforeDid() async throws {
        let log = InMemoryEventLog()
        let other = try StreamID(parsing: "demo/wechat/wxother")
        try await EventWriter.append(EventWriter.failed(.upstreamBusy), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log, stream: other)
        try await EventWriter.append(EventWriter.failed(.upstreamRejectedCredentials), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log)
        let whole = try await Self.fold(log)
        // A second leader folds the same log from the start, applies nothing twice, tells the same.
        var fold = WebhookFold()
        var again: [WebhookEvent] = []
        for event in try await log.readAll(after: 0, limit: 1000) + (try await log.readAll(after: 2, limit: 1000)) {
            if let webhook = fold.apply(event) { again.append(webhook) }
        }
        #expect(again == whole)
        #expect(whole.last?.types == [.tokenIssued, .tokenRecovered])
        #expect(whole.last?.failures == 2)
    }

    @Test func theBodyNeverCarriesTheToken() async throws {
        let log = InMemoryEventLog()
        try await EventWriter.append(EventWriter.issued(), to: log)
        let body = String(decoding: try #require(try await Self.fold(log).first).body(), as: UTF8.self)
        #expect(!body.contains("sealed"))
        #expect(!body.contains("token\":"))
        #expect(body.contains("\"id\":\"1\""))
        #expect(body.contains("\"type\":\"token.issued\""))
    }

    @Test func subscriptionsChooseByProjectAndType() async throws {
        let log = InMemoryEventLog()
        try await EventWriter.append(EventWriter.failed(.upstreamRejectedCredentials), to: log)
        let parked = try #require(try await Self.fold(log).first)
        #expect(WebhookSubscription(id: "a", url: "http://x", secret: "s", events: [.appParked]).wants(parked))
        #expect(WebhookSubscription(id: "b", url: "http://x", secret: "s", events: [.refreshFailed]).wants(parked), "a parking is also a failure")
        #expect(!WebhookSubscription(id: "c", url: "http://x", secret: "s", events: [.tokenIssued, .tokenRecovered]).wants(parked))
        #expect(!WebhookSubscription(id: "d", url: "http://x", secret: "s", projects: ["shop"]).wants(parked))
        #expect(WebhookSubscription(id: "e", url: "http://x", secret: "s", projects: ["demo"]).wants(parked))
        #expect(!"\(WebhookSubscription(id: "f", url: "http://x", secret: "whsec_hidden"))".contains("whsec_hidden"))
    }
}

/// `X-TokenLedger-Signature`, as receivers check it.
struct WebhookSignatureTests {
    @Test func signatureIsTheHMACOfTheTimeAndTheBody() {
        let body = Data(#"{"id":"42"}"#.utf8)
        // Computed apart: python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test", b"1700000000." + body, hashlib.sha256).hexdigest())'
        #expect(
            WebhookSignature.header(body: body, secret: "whsec_test", timestamp: 1_700_000_000)
                == "t=1700000000,v1=513fca4bb022429d1340d2ace0d709013dc2a23bb4bffb8139cc06b892003d4b"
        )
    }

    @Test func verificationRefusesAnotherSecretABodyChangedOrAnOldTime() {
        let body = Data(#"{"id":"42"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_700_000_100)
        let header = WebhookSignature.header(body: body, secret: "whsec_test", timestamp: 1_700_000_000)
        #expect(WebhookSignature.verify(header: header, body: body, secret: "whsec_test", now: now))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "whsec_other", now: now))
        #expect(!WebhookSignature.verify(header: header, body: Data(#"{"id":"43"}"#.utf8), secret: "whsec_test", now: now))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "whsec_test", now: now.addingTimeInterval(600)))
        #expect(!WebhookSignature.verify(header: "v1=abc", body: body, secret: "whsec_test", now: now))
    }
}
