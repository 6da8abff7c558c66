import NIOHTTP1

extension TokenFastPath {
    /// The request headers a read depends on, taken from NIO's head as the router would see them
    /// once `HTTP1ToHTTPServerCodec` converted it; nil when that is not certain — one of them sent
    /// twice (the router would see the values joined) or holding anything but printable ASCII
    /// between visible first and last characters (which the conversion may rewrite) — and the
    /// router must decide.
    struct ReadHeaders {
        var authorization: String?
        var appSecret: String?
        var connection: String?
        var minPosition: String?

        init?(_ headers: HTTPHeaders) {
            for (name, value) in headers {
                let kept: Bool
                if Self.name(name, is: "authorization") {
                    kept = Self.keep(value, in: &authorization)
                } else if Self.name(name, is: "x-app-secret") {
                    kept = Self.keep(value, in: &appSecret)
                } else if Self.name(name, is: "connection") {
                    kept = Self.keep(value, in: &connection)
                } else if Self.name(name, is: "x-ledger-min-position") {
                    kept = Self.keep(value, in: &minPosition)
                } else {
                    continue
                }
                guard kept else { return nil }
            }
        }

        /// Keeps `value` in `field` unless `field` holds one already or `value` is not plain.
        private static func keep(_ value: String, in field: inout String?) -> Bool {
            guard field == nil, isPlain(value) else { return false }
            field = value
            return true
        }

        /// Whether `name` is `lowercased`, ignoring ASCII case (`lowercased` is letters and `-`,
        /// `name` a token: no other byte maps to them).
        private static func name(_ name: String, is lowercased: StaticString) -> Bool {
            guard name.utf8.count == lowercased.utf8CodeUnitCount else { return false }
            return lowercased.withUTF8Buffer { bytes in zip(name.utf8, bytes).allSatisfy { pair in pair.0 | 0x20 == pair.1 } }
        }

        /// Printable ASCII, neither starting nor ending with a space.
        private static func isPlain(_ value: String) -> Bool {
            value.utf8.allSatisfy { (0x20...0x7E).contains($0) } && value.utf8.first != 0x20 && value.utf8.last != 0x20
        }
    }
}
