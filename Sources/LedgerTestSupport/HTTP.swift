import AsyncHTTPClient
import Foundation
public import NIOCore
public import NIOHTTP1

/// A small HTTP client for tests: status and JSON envelope.
public enum HTTP {
    /// `{"code", "data", "error", "errorCode"}` with a string `data`.
    public struct Envelope: Decodable, Sendable {
        /// The status the envelope repeats.
        public let code: Int
        /// The token (or other string).
        public let data: String?
        /// Words for the caller, empty on success.
        public let error: String
        /// The stable error code.
        public let errorCode: String?

        private enum CodingKeys: String, CodingKey { case code, data, error, errorCode }

        /// Decodes an envelope; a `data` that is not a string (an object, null) reads as nil.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            code = try container.decode(Int.self, forKey: .code)
            data = try? container.decode(String.self, forKey: .data)
            error = try container.decode(String.self, forKey: .error)
            errorCode = try container.decodeIfPresent(String.self, forKey: .errorCode)
        }
    }

    /// Status and body of one request.
    public static func request(
        _ method: String,
        _ url: String,
        body: String? = nil,
        headers: [String: String] = [:],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// The envelope and its headers.
    public static func envelope(
        _ method: String,
        _ url: String,
        body: String? = nil,
        headers: [String: String] = [:],
        timeout: TimeAmount = .seconds(30)
    ) async throws -> (status: Int, envelope: Envelope, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes.readableBytesView))
        return (Int(response.status.code), envelope, response.headers)
    }
}
