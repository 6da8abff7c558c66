import Foundation
import Hummingbird
import Logging
import NIOCore

/// A running simulator: where it listens and its state.
public struct RunningSimulator: Sendable {
    /// The bound port.
    public let port: Int
    /// The simulated platform's state.
    public let state: SimulatorState
    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
}

/// A real HTTP server that speaks the platforms' token APIs (WeChat, WeCom, Feishu/Lark, DingTalk,
/// Douyin, an OAuth2 client-credentials server), errors included, on loopback, for tests and
/// benchmarks. Only the platforms are stood in for. Their paths do not collide, so one server
/// serves them all; each platform's base URL points at it.
public enum PlatformSimulatorServer {
    /// Serves on `host:port` (0: any free port) until the calling task is cancelled; `onStarted`
    /// is called once it listens.
    public static func run(
        host: String = "127.0.0.1",
        port: Int = 0,
        state: SimulatorState = SimulatorState(),
        onStarted: @escaping @Sendable (RunningSimulator) async -> Void
    ) async throws {
        let router = Router()
        WeChatRoutes(state: state).register(on: router)
        WeComRoutes(state: state).register(on: router)
        FeishuRoutes(state: state).register(on: router)
        DingTalkRoutes(state: state).register(on: router)
        DouyinRoutes(state: state).register(on: router)
        OAuth2Routes(state: state).register(on: router)
        AlipayRoutes(state: state).register(on: router)
        ControlRoutes(state: state).register(on: router)
        var logger = Logger(label: "platform-simulator")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "platform-simulator"),
            onServerRunning: { channel in
                await onStarted(RunningSimulator(port: channel.localAddress?.port ?? port, state: state))
            },
            logger: logger
        )
        // A hanging answer must not hold the shutdown: it gives up once the simulator stops.
        try await withTaskCancellationHandler {
            try await app.run()
        } onCancel: {
            state.stop()
        }
    }

    /// Runs a simulator on a free loopback port for the duration of `body`, then stops it.
    public static func withRunning<T: Sendable>(
        state: SimulatorState = SimulatorState(),
        _ body: @Sendable (RunningSimulator) async throws -> T
    ) async throws -> T {
        let (started, continuation) = AsyncStream.makeStream(of: RunningSimulator.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await run(state: state, onStarted: { continuation.yield($0) }) }
            defer { group.cancelAll() }
            var iterator = started.makeAsyncIterator()
            guard let simulator = await iterator.next() else { throw CancellationError() }
            return try await body(simulator)
        }
    }
}
