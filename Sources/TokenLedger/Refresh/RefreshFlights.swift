import Synchronization

/// In-process single flight: one refresh task per stream, every concurrent caller awaits it.
final class RefreshFlights: Sendable {
    private let flights = Mutex<[StreamID: Task<ServedToken, any Error>]>([:])

    /// Joins the running flight of `stream`, or starts `work` as the new one.
    func run(_ stream: StreamID, _ work: @escaping @Sendable () async throws -> ServedToken) async throws -> ServedToken {
        let task = flights.withLock { flights -> Task<ServedToken, any Error> in
            if let running = flights[stream] { return running }
            let task = Task<ServedToken, any Error> {
                defer { self.finish(stream) }
                return try await work()
            }
            flights[stream] = task
            return task
        }
        return try await task.value
    }

    private func finish(_ stream: StreamID) {
        flights.withLock { _ = $0.removeValue(forKey: stream) }
    }
}
