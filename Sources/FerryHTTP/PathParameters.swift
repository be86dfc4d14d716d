import FerryCore
import Hummingbird

extension Parameters {
    /// A path parameter as the client meant it: URL path segments arrive
    /// percent-encoded (`tritonclient` and `curl` send `my%20model`), and are
    /// decoded here, once, before any rule looks at them.
    func decoded(_ name: String) throws(FerryError) -> String {
        guard let raw = self.get(name) else { throw FerryError(.invalidArgument, "the path has no '\(name)'") }
        guard let text = raw.percentDecoded else {
            throw FerryError(.invalidArgument, "the path segment '\(raw)' is not valid percent-encoded UTF-8")
        }
        return text
    }
}
