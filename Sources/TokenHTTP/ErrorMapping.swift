public import Hummingbird
public import TokenLedger

/// The one mapping from errors to HTTP statuses and envelopes.
public enum ErrorMapping {
    /// The HTTP status a ledger error is answered with.
    public static func status(for code: LedgerError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidInput, .unknownPlatform: .badRequest
        case .credentialsMissing, .appRemoved, .notFound: .notFound
        case .versionConflict: .conflict
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .quotaBudgetExhausted: .tooManyRequests
        case .upstreamRejectedCredentials, .upstreamMalformedAnswer, .upstreamRefused: .badGateway
        case .upstreamQuotaExhausted, .upstreamRateLimited, .upstreamBusy, .upstreamUnreachable, .storeUnavailable, .lockLost, .notReady,
            .tooManyWatchers:
            .serviceUnavailable
        default: .internalServerError
        }
    }

    static func response(for error: any Error) -> Response {
        switch error {
        case let error as LedgerError:
            return Envelope.failure(status(for: error.code), message: error.message, errorCode: error.code.description)
        case let error as HTTPError:
            let message = error.body ?? (error.status == .notFound ? "no such route" : error.status.reasonPhrase)
            return Envelope.failure(error.status, message: message, errorCode: error.status == .notFound ? "not_found" : "http_\(error.status.code)")
        default:
            return Envelope.failure(.internalServerError, message: "internal error", errorCode: "internal")
        }
    }
}

/// Renders every error thrown by a route (and unknown routes) as an envelope.
public struct EnvelopeErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The middleware.
    public init() {}

    /// Answers what `next` answers, or the envelope of what it threw.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return ErrorMapping.response(for: error)
        }
    }
}
