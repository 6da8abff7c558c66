import Crypto
import Foundation
import Hummingbird
import NIOCore
import _CryptoExtras

/// Alipay's gateway for `alipay.open.auth.token.app`: checks the RSA2 signature with the ISV app's
/// public key, exchanges an authorisation code or a refresh token (each refresh token works once),
/// and signs its answer with the simulator's own key (`SimulatorState.alipayPublicKeyPEM`).
struct AlipayRoutes: Sendable {
    let state: SimulatorState

    var dialect: Dialect {
        Dialect(
            success: { _, _ in Dialect.json([:]) },
            unknownApp: { sign(failure("40002", "isv.invalid-app-id", "invalid app id")) },
            wrongSecret: { sign(failure("40002", "isv.invalid-signature", "invalid signature")) },
            busy: { sign(failure("20000", "isp.unknow-error", "service busy")) },
            quota: { sign(failure("40004", "isv.app-call-limited", "call limit")) }
        )
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post("gateway.do") { request, _ in
            let fields = try await Dialect.form(request)
            let appID = fields["app_id"] ?? ""
            state.record(SimulatorRequest(endpoint: "POST /gateway.do", appid: appID, fields: fields))
            guard let behaviour = state.count(appID) else { return sign(failure("40002", "isv.invalid-app-id", "invalid app id")) }
            if behaviour != .normal {
                // Busy, garbage, hang, quota, HTTP 500 as every platform; a slow answer goes on.
                let answer = try await dialect.respond(behaviour, state: state) { .token("", 0) }
                if case .slow = behaviour {} else { return answer }
            }
            guard fields["method"] == "alipay.open.auth.token.app", fields["sign_type"] == "RSA2", fields["charset"] == "utf-8",
                fields["version"] == "1.0", fields["format"] == "JSON", fields["timestamp"]?.count == 19
            else {
                return sign(failure("40002", "isv.invalid-parameter", "missing or invalid common parameter"))
            }
            guard let signature = fields["sign"], state.alipayVerify(appID, text: Self.signingString(fields), signature: signature) else {
                return sign(failure("40002", "isv.invalid-signature", "invalid signature"))
            }
            guard let biz = fields["biz_content"].flatMap({ try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }) else {
                return sign(failure("40002", "isv.invalid-parameter", "biz_content is not JSON"))
            }
            switch state.alipayExchange(appID, grant: biz["grant_type"] ?? "", credential: biz["code"] ?? biz["refresh_token"] ?? "") {
            case .success(let token, let refresh, let expiresIn):
                let body = #"{"code":"10000","msg":"Success","app_auth_token":"\#(token)","app_refresh_token":"\#(refresh)","expires_in":\#(expiresIn),"re_expires_in":\#(expiresIn * 12),"user_id":"2088000000000001","auth_app_id":"\#(appID)"}"#
                return sign(body)
            case .rejected(let subCode):
                return sign(failure("40002", subCode, "invalid grant"))
            }
        }
    }

    /// `{"…_response": body, "sign": …}`, the signature over `body`'s exact text.
    func sign(_ body: String) -> Response {
        let signature = state.alipaySign(body)
        let text = #"{"alipay_open_auth_token_app_response":\#(body),"sign":"\#(signature)"}"#
        return Response(status: .ok, headers: [.contentType: "application/json;charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func failure(_ code: String, _ subCode: String, _ message: String) -> String {
        #"{"code":"\#(code)","msg":"Business Failed","sub_code":"\#(subCode)","sub_msg":"\#(message)"}"#
    }

    /// The same canonical string the client signs (sorted non-empty parameters but `sign`).
    static func signingString(_ fields: [String: String]) -> String {
        fields.filter { $0.key != "sign" && !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    }
}
