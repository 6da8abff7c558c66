import Foundation

/// Polls `condition` every `interval` for up to `seconds`; whether it came true (asked once more
/// at the deadline). Tests assert on the answer, so a timeout says which condition was not met.
public func eventually(
    _ seconds: Double = 15,
    every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
