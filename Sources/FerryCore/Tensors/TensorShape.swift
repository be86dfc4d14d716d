/// The dimensions of a tensor. In a model signature a dimension may be -1
/// (dynamic); in a request every dimension is concrete.
public struct TensorShape: Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public var dimensions: [Int]

    public init(_ dimensions: [Int]) { self.dimensions = dimensions }
    public init(arrayLiteral elements: Int...) { self.dimensions = elements }

    public var rank: Int { dimensions.count }

    /// The number of elements, or `nil` if a dimension is negative or the
    /// product overflows (a hostile shape must not crash the server).
    public var elementCount: Int? {
        var count = 1
        for dimension in dimensions {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Whether this concrete shape fits a signature shape in which -1 matches any size.
    public func fits(_ pattern: TensorShape) -> Bool {
        guard rank == pattern.rank else { return false }
        return zip(dimensions, pattern.dimensions).allSatisfy { $1 < 0 || $0 == $1 }
    }

    public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }
}
