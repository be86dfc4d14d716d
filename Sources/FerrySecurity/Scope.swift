import FerryCore

/// What a credential may do: one scope per API group (every route and RPC
/// belongs to exactly one, in `APIRoutes`), and `jobs-admin`, which lets a
/// credential see every client's jobs instead of only its own.
public enum Scope: String, Sendable, Hashable, CaseIterable, Comparable {
    case health
    case metadata
    case infer
    case jobs
    case jobsAdmin = "jobs-admin"
    case repository
    case statistics
    case metrics

    public static func < (a: Scope, b: Scope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Reads "infer,metadata" (commas or spaces between) or "*" for every scope.
    public static func list(_ text: some StringProtocol) throws(FerryError) -> Set<Scope> {
        var scopes = Set<Scope>()
        for word in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            if word == "*" {
                scopes.formUnion(allCases)
            } else if let scope = Scope(rawValue: String(word)) {
                scopes.insert(scope)
            } else {
                let known = allCases.map(\.rawValue).joined(separator: ", ")
                throw FerryError(.invalidArgument, "unknown scope '\(word)' (one of: \(known), or * for all)")
            }
        }
        return scopes
    }
}
