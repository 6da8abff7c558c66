public import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
public import TokenLedger

/// A real HTTP receiver of webhooks on a loopback port: it records every delivery it is sent,
/// and refuses (503) the first `refusing` of them, or holds each for `delay`, as a test asks.
public final class WebhookReceiver: Sendable {
    /// One POST received.
    public struct Delivery: Sendable {
        /// `X-TokenLedger-Delivery`.
        public var id: String
        /// `X-TokenLedger-Event`.
        public var event: String
        /// `X-TokenLedger-Webhook`.
        public var webhook: String
        /// `X-TokenLedger-Signature`.
        public var signature: String
        /// The body as received.
        public var body: Data
        /// Whether it was answered 2xx.
        public var accepted: Bool

        /// The body decoded.
        public func decoded() throws -> WebhookEvent {
            try JSONDecoder().decode(WebhookEvent.self, from: body)
        }

        /// Whether the signature verifies with `secret` now.
        public func verifies(secret: String) -> Bool {
            WebhookSignature.verify(header: signature, body: body, secret: secret)
        }
    }

    private struct State {
        var deliveries: [Delivery] = []
        var refusing = 0
        var delay = Duration.zero
        var inFlight = 0
    }

    private let state = Mutex(State())
    private let boundPort = Atomic<Int>(0)

    /// The bound port.
    public var port: Int { boundPort.load(ordering: .acquiring) }

    /// `http://127.0.0.1:<port>/hook`.
    public var url: String { "http://127.0.0.1:\(port)/hook" }

    init() {}

    /// Refuses the next `count` deliveries with 503.
    public func refuse(next count: Int) { state.withLock { $0.refusing = count } }

    /// Holds every delivery for `delay` before answering it.
    public func hold(for delay: Duration) { state.withLock { $0.delay = delay } }

    /// Every delivery received, refused ones included, in the order they arrived.
    public var deliveries: [Delivery] { state.withLock { $0.deliveries } }

    /// Deliveries received and not answered yet (held).
    public var inFlight: Int { state.withLock { $0.inFlight } }

    /// The deliveries answered 2xx.
    public var accepted: [Delivery] { deliveries.filter(\.accepted) }

    /// Records `delivery` and tells whether to accept it.
    private func receive(_ delivery: Delivery) -> (accept: Bool, delay: Duration) {
        state.withLock { state in
            var delivery = delivery
            delivery.accepted = state.refusing == 0
            if state.refusing > 0 { state.refusing -= 1 }
            state.deliveries.append(delivery)
            state.inFlight += 1
            return (delivery.accepted, state.delay)
        }
    }

    private func answered() { state.withLock { $0.inFlight -= 1 } }

    /// Runs a receiver on a free loopback port for the duration of `body`, then stops it.
    public static func withRunning<T: Sendable>(_ body: @Sendable (WebhookReceiver) async throws -> T) async throws -> T {
        let (started, continuation) = AsyncStream.makeStream(of: WebhookReceiver.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let receiver = WebhookReceiver()
                let router = Router()
                router.post("hook") { request, _ -> Response in
                    let bytes = try await request.body.collect(upTo: 1 << 20)
                    let header = { (name: String) in HTTPField.Name(name).flatMap { request.headers[$0] } ?? "" }
                    let (accept, delay) = receiver.receive(
                        Delivery(
                            id: header("X-TokenLedger-Delivery"), event: header("X-TokenLedger-Event"), webhook: header("X-TokenLedger-Webhook"),
                            signature: header("X-TokenLedger-Signature"), body: Data(bytes.readableBytesView), accepted: false
                        )
                    )
                    defer { receiver.answered() }
                    if delay > .zero { try await Task.sleep(for: delay) }
                    return Response(status: accept ? .noContent : .serviceUnavailable)
                }
                var logger = Logger(label: "webhook-receiver")
                logger.logLevel = .warning
                let app = Application(
                    router: router,
                    configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "webhook-receiver"),
                    onServerRunning: { channel in
                        receiver.boundPort.store(channel.localAddress?.port ?? 0, ordering: .releasing)
                        continuation.yield(receiver)
                    },
                    logger: logger
                )
                try await app.run()
            }
            defer { group.cancelAll() }
            var iterator = started.makeAsyncIterator()
            guard let receiver = await iterator.next() else { throw CancellationError() }
            return try await body(receiver)
        }
    }
}
