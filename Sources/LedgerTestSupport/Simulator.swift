public import PlatformSimulator

/// Runs the platform simulator in-process on a loopback port for the duration of `body`.
public func withSimulator<T: Sendable>(_ body: @Sendable (RunningSimulator) async throws -> T) async throws -> T {
    try await PlatformSimulatorServer.withRunning(body)
}

/// A unique project name, so that tests sharing one database never meet.
public func uniqueProject(_ prefix: String) -> String {
    "\(prefix)\(UInt32.random(in: 0...UInt32.max))"
}
