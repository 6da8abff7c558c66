import Hummingbird
import HummingbirdTesting
import Synchronization
import TokenHTTP

extension HTTPFixture {
    /// Runs `body` with a client of a live server (one connection) whose connections answer token
    /// reads on the fast path, as `serve` runs it; `routed` counts the requests the router answered.
    func live(_ body: @Sendable (Client, RoutedRequests) async throws -> Void) async throws {
        let routed = RoutedRequests()
        let app = Application(
            responder: CountingResponder(base: buildRouter(controller, metrics: metrics).buildResponder(), routed: routed),
            server: .http1(fastPath: TokenFastPath(controller, serverName: "tokenledger", requestMetrics: metrics != nil)),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "tokenledger")
        )
        try await app.test(.live) { client in try await body(Client(client: client), routed) }
    }
}

/// How many requests reached the router.
final class RoutedRequests: Sendable {
    private let counted = Atomic<Int>(0)
    var count: Int { counted.load(ordering: .acquiring) }
    func add() { counted.add(1, ordering: .acquiringAndReleasing) }
}

/// The router, counting what it answers.
struct CountingResponder<Base: HTTPResponder>: HTTPResponder {
    let base: Base
    let routed: RoutedRequests

    func respond(to request: Request, context: Base.Context) async throws -> Response {
        routed.add()
        return try await base.respond(to: request, context: context)
    }
}
