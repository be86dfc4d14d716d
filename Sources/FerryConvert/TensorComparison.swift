import FerryCore

/// How far one tensor is from another, with NumPy's `allclose` rule: an
/// element agrees when |actual − expected| ≤ atol + rtol·|expected|. The
/// Python converter compares the source framework with ONNX Runtime the same
/// way, so both halves of the report read alike.
public struct TensorComparison: Sendable, Equatable {
    public var name: String
    public var maxAbsolute: Double
    /// Largest |actual − expected| / |expected| over elements whose expected value is not 0.
    public var maxRelative: Double
    public var absoluteTolerance: Double
    public var relativeTolerance: Double
    public var passed: Bool
    public var argmaxAgreement: Double?
    public var top5Agreement: Double?
    /// Why the comparison could not be made (shape or datatype differ), if so.
    public var problem: String?

    public init(
        name: String, maxAbsolute: Double, maxRelative: Double, absoluteTolerance: Double, relativeTolerance: Double, passed: Bool,
        argmaxAgreement: Double? = nil, top5Agreement: Double? = nil, problem: String? = nil
    ) {
        self.name = name
        self.maxAbsolute = maxAbsolute
        self.maxRelative = maxRelative
        self.absoluteTolerance = absoluteTolerance
        self.relativeTolerance = relativeTolerance
        self.passed = passed
        self.argmaxAgreement = argmaxAgreement
        self.top5Agreement = top5Agreement
        self.problem = problem
    }

    public static func compare(_ actual: Tensor, _ expected: Tensor, tolerance: Tolerance) -> TensorComparison {
        func mismatch(_ problem: String) -> TensorComparison {
            TensorComparison(
                name: expected.name, maxAbsolute: .infinity, maxRelative: .infinity, absoluteTolerance: tolerance.absolute,
                relativeTolerance: tolerance.relative, passed: false, problem: problem)
        }
        guard actual.datatype == expected.datatype else {
            return mismatch("datatype \(actual.datatype.rawValue), expected \(expected.datatype.rawValue)")
        }
        guard actual.shape == expected.shape else { return mismatch("shape \(actual.shape), expected \(expected.shape)") }
        if expected.datatype == .bytes {
            let same = actual.data == expected.data
            return TensorComparison(
                name: expected.name, maxAbsolute: same ? 0 : .infinity, maxRelative: same ? 0 : .infinity, absoluteTolerance: 0,
                relativeTolerance: 0, passed: same, problem: same ? nil : "strings differ")
        }
        guard let got = actual.doubleValues, let want = expected.doubleValues else { return mismatch("unreadable tensor data") }
        var maxAbsolute = 0.0
        var maxRelative = 0.0
        var passed = true
        for (a, e) in zip(got, want) {
            if a.isNaN || e.isNaN {
                if a.isNaN != e.isNaN { passed = false; maxAbsolute = .infinity }
                continue
            }
            let difference = a == e ? 0 : abs(a - e)
            maxAbsolute = max(maxAbsolute, difference)
            if e != 0 { maxRelative = max(maxRelative, difference / abs(e)) } else if difference > 0 { maxRelative = .infinity }
            if difference > tolerance.absolute + tolerance.relative * abs(e) { passed = false }
        }
        var comparison = TensorComparison(
            name: expected.name, maxAbsolute: maxAbsolute, maxRelative: maxRelative, absoluteTolerance: tolerance.absolute,
            relativeTolerance: tolerance.relative, passed: passed)
        let dims = expected.shape.dimensions
        if dims.count == 2, dims[1] > 1, expected.datatype.isFloatingPoint {
            comparison.argmaxAgreement = agreement(got, want, rows: dims[0], columns: dims[1], k: 1)
            if dims[1] >= 5 { comparison.top5Agreement = agreement(got, want, rows: dims[0], columns: dims[1], k: 5) }
        }
        return comparison
    }

    /// The fraction of rows whose top-k classes (as a set) are the same.
    static func agreement(_ actual: [Double], _ expected: [Double], rows: Int, columns: Int, k: Int) -> Double {
        guard rows > 0 else { return 1 }
        func top(_ values: ArraySlice<Double>) -> Set<Int> {
            Set(values.indices.sorted { values[$0] > values[$1] }.prefix(k).map { $0 - values.startIndex })
        }
        var same = 0
        for row in 0..<rows {
            let range = row * columns..<(row + 1) * columns
            if top(actual[range]) == top(expected[range]) { same += 1 }
        }
        return Double(same) / Double(rows)
    }
}

/// An allowed difference; integer, boolean and string outputs are compared exactly.
public struct Tolerance: Sendable, Equatable {
    public var absolute: Double
    public var relative: Double

    public init(absolute: Double, relative: Double) {
        self.absolute = absolute
        self.relative = relative
    }

    public static let exact = Tolerance(absolute: 0, relative: 0)

    /// Between Ferry's ONNX Runtime and Python's, on the same model file: the
    /// same library version with another thread count may sum in another
    /// order, so floats get a few units in the last place, never more.
    public static func sameRuntime(_ datatype: DataType) -> Tolerance {
        switch datatype {
        case .fp16, .bf16: Tolerance(absolute: 1e-3, relative: 1e-3)
        case .fp32: Tolerance(absolute: 1e-5, relative: 1e-5)
        case .fp64: Tolerance(absolute: 1e-12, relative: 1e-12)
        default: .exact
        }
    }
}

extension Tensor {
    /// Every element as a Double (nil for BYTES or a size that does not fit the shape).
    var doubleValues: [Double]? {
        guard let size = datatype.elementSize, data.count == shape.dimensions.reduce(1, *) * size else { return nil }
        do {
            switch datatype {
            case .bool: return try values(as: Bool.self).map { $0 ? 1 : 0 }
            case .uint8: return try values(as: UInt8.self).map(Double.init)
            case .uint16: return try values(as: UInt16.self).map(Double.init)
            case .uint32: return try values(as: UInt32.self).map(Double.init)
            case .uint64: return try values(as: UInt64.self).map(Double.init)
            case .int8: return try values(as: Int8.self).map(Double.init)
            case .int16: return try values(as: Int16.self).map(Double.init)
            case .int32: return try values(as: Int32.self).map(Double.init)
            case .int64: return try values(as: Int64.self).map(Double.init)
            case .fp16:
                return try values(as: UInt16.self, reinterpreting: true).map { Double(Float(Float16(bitPattern: $0))) }
            case .bf16: return try values(as: BFloat16.self).map { Double($0.floatValue) }
            case .fp32: return try values(as: Float.self).map(Double.init)
            case .fp64: return try values(as: Double.self)
            case .bytes: return nil
            }
        } catch {
            return nil
        }
    }

    private func values(as type: UInt16.Type, reinterpreting: Bool) throws(FerryError) -> [UInt16] {
        var copy = self
        copy.datatype = .uint16
        return try copy.values(as: UInt16.self)
    }
}
