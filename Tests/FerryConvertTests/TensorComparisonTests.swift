import FerryConvert
import FerryCore
import Testing

@Suite("comparing a converted model's outputs")
struct TensorComparisonTests {
    @Test("allclose: |a - e| <= atol + rtol * |e| element by element, with the largest errors reported")
    func allclose() {
        let expected = Tensor(name: "y", shape: [1, 3], values: [Float(1), 100, 0])
        let close = Tensor(name: "y", shape: [1, 3], values: [Float(1.00005), 100.05, 0.00005])
        let comparison = TensorComparison.compare(close, expected, tolerance: Tolerance(absolute: 1e-4, relative: 1e-3))
        #expect(comparison.passed)
        #expect(abs(comparison.maxAbsolute - 0.05) < 1e-5)
        #expect(comparison.maxRelative == .infinity)  // 0 expected, non-zero actual: no finite ratio
        let far = Tensor(name: "y", shape: [1, 3], values: [Float(1.01), 100, 0])
        #expect(!TensorComparison.compare(far, expected, tolerance: Tolerance(absolute: 1e-4, relative: 1e-3)).passed)
    }

    @Test("integers compare exactly, shapes and datatypes must match")
    func exactAndMismatched() {
        let labels = Tensor(name: "label", shape: [2], values: [Int64(3), 1])
        #expect(TensorComparison.compare(labels, labels, tolerance: .exact).passed)
        #expect(!TensorComparison.compare(Tensor(name: "label", shape: [2], values: [Int64(3), 2]), labels, tolerance: .exact).passed)
        let reshaped = TensorComparison.compare(Tensor(name: "label", shape: [1, 2], values: [Int64(3), 1]), labels, tolerance: .exact)
        #expect(!reshaped.passed)
        #expect(reshaped.problem == "shape [1, 2], expected [2]")
        let retyped = TensorComparison.compare(Tensor(name: "label", shape: [2], values: [Int32(3), 1]), labels, tolerance: .exact)
        #expect(retyped.problem == "datatype INT32, expected INT64")
    }

    @Test("a 2-D float output reports argmax and top-5 agreement per row")
    func classifierAgreement() {
        let expected = Tensor(name: "p", shape: [2, 6], values: [Float(0.1), 0.5, 0.2, 0.05, 0.1, 0.05, 0.3, 0.1, 0.1, 0.1, 0.1, 0.3001])
        let actual = Tensor(name: "p", shape: [2, 6], values: [Float(0.1), 0.5, 0.2, 0.05, 0.1, 0.05, 0.3002, 0.1, 0.1, 0.1, 0.1, 0.3])
        let comparison = TensorComparison.compare(actual, expected, tolerance: Tolerance(absolute: 1e-3, relative: 0))
        #expect(comparison.passed)
        #expect(comparison.argmaxAgreement == 0.5)
        #expect(comparison.top5Agreement == 1)
    }

    @Test("NaN matches only NaN")
    func notANumber() {
        let expected = Tensor(name: "y", shape: [2], values: [Float.nan, 1])
        #expect(TensorComparison.compare(expected, expected, tolerance: .exact).passed)
        #expect(!TensorComparison.compare(Tensor(name: "y", shape: [2], values: [Float(0), 1]), expected, tolerance: .sameRuntime(.fp32)).passed)
    }
}
