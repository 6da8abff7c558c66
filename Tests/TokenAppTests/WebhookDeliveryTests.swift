import Foundation
import LedgerTestSupport
import Logging
import Platforms
import Testing
import TokenApp
import TokenLedger

/// Webhook deliveries from the log to a real receiver over HTTP: signed, in order, retried with
/// back-off, parked, resumed.
@Suite(.serialized)
struct WebhookDeliveryTests {
    static let secret = "whsec_delivery"

    /// A projector of a webhook on `receiver` over `log`, running for the duration of `body`.
    static func withProjector<T: Sendable>(
        _ receiver: WebhookReceiver,
        log: InMemoryEventLog,
        checkpoints: InMemoryWebhookCheckpoints,
        options: WebhookProjector.Options,
        url: String? = nil,
        allowPrivateNetworks: Bool = true,
        _ body: @Sendable (WebhookProjector) async throws -> T
    ) async throws -> T {
        let projector = WebhookProjector(
            subscription: WebhookSubscription(id: "hooks-test", url: url ?? receiver.url, secret: secret),
            log: log,
            election: SoleLeader(),
            checkpoints: checkpoints,
            sender: HTTPWebhookSender(policy: TokenURLPolicy(allowPrivateNetworks: allowPrivateNetworks), timeout: .seconds(5)),
            wakes: WakeSignal(),
            options: options,
            logger: Logger(label: "webhook-test")
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await projector.run() }
            defer { group.cancelAll() }
            return try await body(projector)
        }
    }

    static func fast(maxAttempts: Int = 5, backoff: Duration = .milliseconds(20), maxBackoff: Duration = .milliseconds(80)) -> WebhookProjector.Options {
        WebhookProjector.Options(maxAttempts: maxAttempts, backoff: backoff, maxBackoff: maxBackoff, pollInterval: .milliseconds(50))
    }

    /// Appends a success, two failures and a recovery: positions 1 to 4.
    static func appendHistory(_ log: InMemoryEventLog) async throws {
        try await EventWriter.append(EventWriter.issued(), to: log)
        try await EventWriter.append(EventWriter.failed(.upstreamBusy), to: log)
        try await EventWriter.append(EventWriter.failed(.upstreamRejectedCredentials), to: log)
        try await EventWriter.append(EventWriter.issued(), to: log)
    }

    @Test(.timeLimit(.minutes(1)))
    func everyEventArrivesSignedInOrderAfterRefusals() async throws {
        try await WebhookReceiver.withRunning { receiver in
            receiver.refuse(next: 3)
            let log = InMemoryEventLog()
            let checkpoints = InMemoryWebhookCheckpoints()
            try await Self.withProjector(receiver, log: log, checkpoints: checkpoints, options: Self.fast()) { _ in
                try await Self.appendHistory(log)
                #expect(await eventually { receiver.accepted.count == 4 })
                #expect(try await checkpoints.checkpoint(of: "hooks-test").position == 4)
            }
            let accepted = receiver.accepted
            #expect(accepted.map(\.id) == ["1", "2", "3", "4"])
            #expect(accepted.map(\.event) == ["token.issued", "token.refresh_failed", "app.parked", "token.recovered"])
            #expect(accepted.allSatisfy { $0.verifies(secret: Self.secret) })
            #expect(accepted.allSatisfy { $0.webhook == "hooks-test" })
            #expect(try accepted.map { try $0.decoded().id } == accepted.map(\.id), "the body carries the delivery's id")
            #expect(receiver.deliveries.prefix(4).map(\.id) == ["1", "1", "1", "1"], "the first event is retried until taken, before any other")
            #expect(try accepted[3].decoded().failures == 2)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func retriesBackOffExponentiallyUpToTheLongestWait() async throws {
        try await WebhookReceiver.withRunning { receiver in
            receiver.refuse(next: 4)
            let log = InMemoryEventLog()
            let options = Self.fast(maxAttempts: 6, backoff: .milliseconds(100), maxBackoff: .milliseconds(300))
            let times = try await Self.withProjector(receiver, log: log, checkpoints: InMemoryWebhookCheckpoints(), options: options) { _ in
                var times: [ContinuousClock.Instant] = []
                try await EventWriter.append(EventWriter.issued(), to: log)
                while times.count < 5 {
                    let count = receiver.deliveries.count
                    if count > times.count { times += Array(repeating: ContinuousClock.now, count: count - times.count) }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return times
            }
            let gaps = zip(times.dropFirst(), times).map { ($0 - $1) / .milliseconds(1) }
            // 100, 200, 300 (capped), 300 ms, each measured from the previous answer.
            for (gap, expected) in zip(gaps, [100.0, 200, 300, 300]) {
                #expect(gap >= expected - 10 && gap < expected + 250, "waited \(gap) ms, expected about \(expected)")
            }
            #expect(receiver.accepted.map(\.id) == ["1"])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aWebhookThatKeepsFailingIsParkedUntilResumed() async throws {
        try await WebhookReceiver.withRunning { receiver in
            receiver.refuse(next: 1000)
            let log = InMemoryEventLog()
            let checkpoints = InMemoryWebhookCheckpoints()
            try await Self.withProjector(receiver, log: log, checkpoints: checkpoints, options: Self.fast(maxAttempts: 3)) { _ in
                try await Self.appendHistory(log)
                #expect(await eventually { (try? await checkpoints.checkpoint(of: "hooks-test").isParked) == true })
                let parked = try await checkpoints.checkpoint(of: "hooks-test")
                #expect(parked.position == 0)
                #expect(parked.parkedReason == "the receiver answered 503")
                try await Task.sleep(for: .milliseconds(300))
                #expect(receiver.deliveries.count == 3, "nothing is posted while parked")
                receiver.refuse(next: 0)
                #expect(try await checkpoints.resume("hooks-test", from: nil)?.isParked == false)
                #expect(await eventually { receiver.accepted.count == 4 })
            }
            #expect(receiver.accepted.map(\.id) == ["1", "2", "3", "4"], "delivery goes on from the event that kept failing")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func resumeFromAPositionDeliversAgainFromThere() async throws {
        try await WebhookReceiver.withRunning { receiver in
            let log = InMemoryEventLog()
            let checkpoints = InMemoryWebhookCheckpoints()
            try await Self.withProjector(receiver, log: log, checkpoints: checkpoints, options: Self.fast()) { _ in
                try await Self.appendHistory(log)
                #expect(await eventually { receiver.accepted.count == 4 })
                _ = try await checkpoints.resume("hooks-test", from: 2)
                #expect(await eventually { receiver.accepted.count == 7 })
            }
            let again = Array(receiver.accepted.suffix(3))
            #expect(again.map(\.id) == ["2", "3", "4"])
            #expect(again.map(\.event) == ["token.refresh_failed", "app.parked", "token.recovered"], "the replay derives what the first pass did")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func urlsFollowTheTokenURLAddressRules() async throws {
        try await WebhookReceiver.withRunning { receiver in
            let log = InMemoryEventLog()
            let checkpoints = InMemoryWebhookCheckpoints()
            try await Self.withProjector(receiver, log: log, checkpoints: checkpoints, options: Self.fast(maxAttempts: 1), allowPrivateNetworks: false) { _ in
                try await EventWriter.append(EventWriter.issued(), to: log)
                #expect(await eventually { (try? await checkpoints.checkpoint(of: "hooks-test").isParked) == true })
            }
            #expect(receiver.deliveries.isEmpty, "a loopback receiver is refused unless private networks are allowed")
            #expect(try await checkpoints.checkpoint(of: "hooks-test").parkedReason?.contains("allow_private_networks") == true)
            let metadata = InMemoryWebhookCheckpoints()
            try await Self.withProjector(receiver, log: log, checkpoints: metadata, options: Self.fast(maxAttempts: 1), url: "http://169.254.169.254/hook") { _ in
                #expect(await eventually { (try? await metadata.checkpoint(of: "hooks-test").isParked) == true })
            }
            #expect(try await metadata.checkpoint(of: "hooks-test").parkedReason?.contains("link-local") == true, "metadata addresses are never called")
        }
    }
}
