import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TokenLedger

/// The HTTP exchange every platform client shares: a bounded request, 5xx and transport failures
/// turned into `PlatformError(.unreachable)`, the status and body returned.
struct PlatformHTTP: Sendable {
    let client: HTTPClient
    let timeout: Duration
    static let maxBody = 1 << 20

    /// A JSON (or bodiless) request whose non-5xx answer body is returned; 4xx is an error unless
    /// the platform words its errors with 4xx (`acceptingClientErrors`).
    func send(_ method: HTTPMethod, _ url: String, json: [String: Any]?, acceptingClientErrors: Bool = false) async throws -> Data {
        let (status, body) = try await exchange(method, url, json: json)
        if status >= 400, !acceptingClientErrors {
            throw PlatformError(.refused, platformCode: "http \(status)")
        }
        return body
    }

    func exchange(_ method: HTTPMethod, _ url: String, json: [String: Any]?) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        return try await execute(request)
    }

    func exchange(_ method: HTTPMethod, _ url: String, form: String, headers: [(String, String)]) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: form))
        return try await execute(request)
    }

    private func execute(_ request: HTTPClientRequest) async throws -> (Int, Data) {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response: HTTPClientResponse
        var body: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
            body = try await response.body.collect(upTo: Self.maxBody)
        } catch {
            throw PlatformError(.unreachable, platformMessage: "no answer: \(type(of: error))")
        }
        let status = Int(response.status.code)
        if (300..<400).contains(status) {
            // Never followed: a token call goes only where it was sent, with the secret it carries.
            throw PlatformError(.refused, platformCode: "http \(status)", platformMessage: "the platform answered with a redirect, which is not followed")
        }
        if status >= 500 {
            throw PlatformError(status == 503 ? .busy : .unreachable, platformCode: "http \(status)")
        }
        return (status, Data(body.readBytes(length: body.readableBytes) ?? []))
    }

    /// `application/x-www-form-urlencoded` of `fields`, sorted by name.
    static func query(_ fields: [String: String]) -> String {
        fields.sorted { $0.key < $1.key }.map { "\(formEncoded($0.key))=\(formEncoded($0.value))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
    static func formEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func trimmed(_ baseURL: String) -> String {
        baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }
}
