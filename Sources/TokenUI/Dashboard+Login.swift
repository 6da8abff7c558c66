import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import TokenHTTP
import TokenLedger

/// `/ui/login` and `/ui/logout`: an API key is asked once and exchanged for a session cookie.
extension Dashboard {
    struct LoginPage {
        let title = "Sign in"
        let problem: String?
        let hours: Int
    }

    struct LoginForm: Decodable {
        var key: String?
    }

    @Sendable func loginForm(_ request: Request, context: TokenRequestContext) async throws -> Response {
        guard access.enabled else { return Self.redirect("/ui") }
        return page("login", LoginPage(problem: nil, hours: Int(sessions.lifetime / 3600)))
    }

    @Sendable func login(_ request: Request, context: TokenRequestContext) async throws -> Response {
        guard access.enabled else { return Self.redirect("/ui") }
        let form = try await Self.form(LoginForm.self, from: request, context: context)
        let key: AccessControl.Key?
        do {
            key = try access.authenticate(authorization: "Bearer " + (form.key ?? "").trimmingCharacters(in: .whitespaces))
        } catch {
            key = nil
        }
        guard let key else {
            return page("login", LoginPage(problem: "That API key is not known.", hours: Int(sessions.lifetime / 3600)), status: .unauthorized)
        }
        let opened = sessions.open(keyID: key.id, now: now())
        return Self.redirect("/ui", headers: [.setCookie: sessions.setCookie(opened.value)])
    }

    @Sendable func logout(_ request: Request, context: TokenRequestContext) async throws -> Response {
        let form = try await Self.form(ActionForm.self, from: request, context: context)
        guard let viewer = viewer(request), sessions.checkCSRF(form.csrf, session: viewer.session) else {
            return page("message", Message(title: "Refused", kind: "problem", text: "The form's CSRF token is missing or wrong.", user: nil), status: .forbidden)
        }
        return Self.redirect("/ui/login", headers: [.setCookie: sessions.clearCookie])
    }
}
