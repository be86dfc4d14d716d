import FerryConvert
import FerryCore
import Testing

@Suite("ferry convert's options")
struct ConversionOptionsTests {
    @Test("--input NAME:DIMS[:DATATYPE] reads name, dims with the batch first, and an optional datatype")
    func inputExamples() throws {
        #expect(try InputExample(parsing: "image:1,3,224,224") == InputExample(name: "image", dims: [1, 3, 224, 224]))
        #expect(try InputExample(parsing: "ids:2,16:int64") == InputExample(name: "ids", dims: [2, 16], datatype: .int64))
        for bad in ["image", "image:", ":1,2", "image:1,x", "image:0,3", "image:1,-3", "image:1:FP99", "a:1:FP32:x"] {
            #expect(throws: FerryError.self, "\(bad)") { try InputExample(parsing: bad) }
        }
        let message = #expect(throws: FerryError.self) { try InputExample(parsing: "image:1,x") }
        #expect(message?.message == "--input 'image:1,x': 'x' is not a dimension (each is a positive integer, the batch first)")
    }

    @Test("the model's name defaults to the source's file name; a numbered SavedModel directory is named after its parent")
    func defaultNames() {
        #expect(ConversionOptions.defaultName(for: "/m/resnet18.pt") == "resnet18")
        #expect(ConversionOptions.defaultName(for: "saved/classifier/") == "classifier")
        #expect(ConversionOptions.defaultName(for: "export/classifier/3") == "classifier")
    }

    @Test("names, versions, duplicates and tolerances are checked before anything runs")
    func validation() {
        func failure(_ options: ConversionOptions) -> String? {
            do {
                try options.validate()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", version: 0))?.contains("--version must be 1 or more") == true)
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", name: "../x"))?.contains("is not a model name") == true)
        #expect(
            failure(ConversionOptions(source: "m.pt", repository: "r", inputs: [.init(name: "a", dims: [1]), .init(name: "a", dims: [2])]))
                == "input 'a' is given twice with --input")
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", outputNames: ["y", "y"])) == "output 'y' is named twice in --output-names")
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", absoluteTolerance: -1))?.contains("not negative") == true)
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", calibration: "c.npz"))?.contains("--quantize int8") == true)
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", module: "nocolon")) != nil)
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r", samples: ["/nonexistent.npz"])) == "no file at /nonexistent.npz")
        #expect(failure(ConversionOptions(source: "m.pt", repository: "r")) == nil)
    }

    @Test("the source's format is detected from its name, --from names a framework or a format")
    func formats() throws {
        #expect(SourceFormat.detect(path: "m.pt", module: nil) == .torchscript)
        #expect(SourceFormat.detect(path: "m.pth", module: "pkg.mod:build") == .module)
        #expect(SourceFormat.detect(path: "w.safetensors", module: "pkg.mod:build") == .module)
        #expect(SourceFormat.detect(path: "w.safetensors", module: nil) == nil)
        #expect(SourceFormat.detect(path: "m.pt2", module: nil) == .exportedProgram)
        #expect(SourceFormat.detect(path: "m.keras", module: nil) == .keras)
        #expect(SourceFormat.detect(path: "m.H5", module: nil) == .keras)
        #expect(SourceFormat.detect(path: "graph.pb", module: nil) == .frozenGraph)
        #expect(SourceFormat.detect(path: "m.joblib", module: nil) == .sklearn)
        #expect(SourceFormat.detect(path: "m.onnx", module: nil) == .onnx)
        #expect(SourceFormat.detect(path: "m.bin", module: nil) == nil)
        #expect(try SourceFormat.parseFrom("torch") == (.pytorch, nil))
        #expect(try SourceFormat.parseFrom("saved-model") == (.tensorflow, .savedModel))
        #expect(try SourceFormat.parseFrom("xgboost") == (.sklearn, .xgboost))
        #expect(throws: FerryError.self) { try SourceFormat.parseFrom("caffe") }
    }
}
