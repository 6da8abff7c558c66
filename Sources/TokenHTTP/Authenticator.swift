public import Hummingbird

/// Authentication: reads `Authorization: Bearer …` before anything else of the request (its body
/// included), answers 401 for a missing or unknown key, and puts the key in the context.
/// Authorization (scopes, projects) is the routes' business, once they know the stream.
public struct Authenticator: RouterMiddleware {
    let access: AccessControl

    /// Authenticates against `access` (lets everyone through when access control is off).
    public init(_ access: AccessControl) {
        self.access = access
    }

    /// Fills `context.caller`, then answers what `next` answers.
    public func handle(
        _ request: Request, context: TokenRequestContext, next: (Request, TokenRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.caller = try access.authenticate(authorization: request.headers[.authorization])
        return try await next(request, context)
    }
}
