public import Hummingbird

/// The request context of the token API: Hummingbird's core storage plus the caller, filled by
/// `Authenticator` before anything else of the request is read.
public struct TokenRequestContext: RequestContext {
    /// Hummingbird's per-request storage (logger, route parameters).
    public var coreContext: CoreRequestContextStorage
    /// The key the request presented; nil when access control is off or on routes that need none
    /// (`/healthz`, `/readyz`, `/metrics`).
    public var caller: AccessControl.Key?

    /// A context with no caller yet.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.caller = nil
    }
}
