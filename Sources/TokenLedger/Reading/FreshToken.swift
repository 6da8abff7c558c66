#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A read that the memory read model answers, kept by a caller that answers it again (the HTTP
/// fast path keeps it encoded): it stays the answer until the model applies another event or the
/// token reaches its freshness margin, whichever comes first. `TokenReader.answersAgain(_:minPosition:)`
/// tells which.
public struct FreshToken: Sendable {
    /// The stream read.
    public let stream: StreamID
    /// What the read answers.
    public let served: ServedToken
    /// When the token stops being served as fresh (`Freshness.staleAt`).
    let staleAt: Date
    /// The memory model's checkpoint, taken before its state was read: any event applied after it
    /// may have replaced the token.
    let checkpoint: Int64
}
