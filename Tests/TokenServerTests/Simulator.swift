import PlatformSimulator

/// Runs the platform simulator in-process on a loopback port for the duration of `body`.
func withSimulator<T: Sendable>(_ body: @Sendable (RunningSimulator) async throws -> T) async throws -> T {
    let (started, continuation) = AsyncStream.makeStream(of: RunningSimulator.self)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await PlatformSimulatorServer.run(onStarted: { simulator in continuation.yield(simulator) })
        }
        defer { group.cancelAll() }
        var iterator = started.makeAsyncIterator()
        guard let simulator = await iterator.next() else { throw TestFailure("simulator did not start") }
        return try await body(simulator)
    }
}

/// A unique project name, so that tests sharing one database never meet.
func uniqueProject(_ prefix: String) -> String {
    "\(prefix)\(UInt32.random(in: 0...UInt32.max))"
}
