#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What carrying over a token another service fetched (`Credentials.adopt`) does to a stream,
/// decided from the stream's state alone, so that a dry run says what the run will do.
public enum TokenAdoption: Sendable, Equatable {
    /// The token becomes the stream's current one (`token.issued`, reason `imported`).
    case recorded
    /// The stream already serves this very token: nothing to append (a second import).
    case alreadyCurrent
    /// The stream serves a token that lives at least as long: the carried one is older.
    case olderThanCurrent(currentExpiresAt: Date)
    /// The token's expiry has passed: serving it would hand out a dead token.
    case expired

    /// What adopting `token`, expiring at `expiresAt`, would do to a stream in `state` at `now`.
    public static func decide(token: String, expiresAt: Date, state: StreamState?, now: Date) -> TokenAdoption {
        guard expiresAt > now else { return .expired }
        guard let current = state?.token else { return .recorded }
        if current.value == token { return .alreadyCurrent }
        if current.expiresAt >= expiresAt { return .olderThanCurrent(currentExpiresAt: current.expiresAt) }
        return .recorded
    }
}
