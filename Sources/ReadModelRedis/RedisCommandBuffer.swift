/// Commands encoded in the Redis protocol (RESP) into one byte buffer, sent by one write: no
/// argument array, no C string and no per-argument allocation. Arguments travel with their
/// length, so bytes of any value (quotes, NULs, newlines) travel exactly.
struct RedisCommandBuffer {
    private(set) var bytes: [UInt8] = []
    /// Commands written so far (each has one reply).
    private(set) var count = 0

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts a command of `arguments` arguments (its name included); the caller then writes them.
    mutating func command(_ arguments: Int) {
        bytes.append(UInt8(ascii: "*"))
        decimal(Int64(arguments))
        newline()
        count += 1
    }

    /// A whole command, e.g. `command("HGET", key, "position")`.
    mutating func command(_ arguments: String...) {
        command(arguments.count)
        for argument in arguments { self.argument(argument) }
    }

    mutating func argument(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            header(utf8.count)
            bytes.append(contentsOf: utf8)
        }
        newline()
    }

    mutating func argument(_ number: Int64) {
        header(Self.digits(number))
        decimal(number)
        newline()
    }

    /// One argument made of `parts` joined by `separator` (a stream's `project/platform/appid`).
    mutating func argument(joining parts: String..., separator: UInt8) {
        header(parts.reduce(parts.count - 1) { $0 + $1.utf8.count })
        for (index, part) in parts.enumerated() {
            if index > 0 { bytes.append(separator) }
            var part = part
            part.withUTF8 { bytes.append(contentsOf: $0) }
        }
        newline()
    }

    private mutating func header(_ length: Int) {
        bytes.append(UInt8(ascii: "$"))
        decimal(Int64(length))
        newline()
    }

    private mutating func newline() {
        bytes.append(13)
        bytes.append(10)
    }

    private mutating func decimal(_ number: Int64) {
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let end = bytes.count + Self.digits(number) - (number < 0 ? 1 : 0)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: end - start))
        var index = end
        repeat {
            index -= 1
            bytes[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
    }

    /// Characters of `number` in decimal, its sign included.
    private static func digits(_ number: Int64) -> Int {
        var magnitude = number.magnitude
        var count = number < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            count += 1
        }
        return count
    }
}
