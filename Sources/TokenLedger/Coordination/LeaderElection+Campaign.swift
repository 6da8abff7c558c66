extension LeaderElection {
    /// Leads `role` whenever no other process does and runs `body` while leading; tries again
    /// every `retry` while another process leads, and after leadership is lost (`lost` is told
    /// why). Runs until cancelled: what a shared writer (a read model, a webhook) does for its life.
    public func campaign(
        for role: String,
        retry: Duration,
        lost: @Sendable (any Error) -> Void,
        _ body: @escaping @Sendable () async throws -> Void
    ) async {
        while !Task.isCancelled {
            do {
                _ = try await lead(role, body)
            } catch is CancellationError {
                return
            } catch {
                lost(error)
            }
            try? await Task.sleep(for: retry)
        }
    }
}
