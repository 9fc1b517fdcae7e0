/// `openapi.yaml` as compact JSON with sorted keys, as `scripts/generate-openapi.sh` wrote it
/// beside the generated code: what `GET /openapi.json` serves.
public enum OpenAPIDocument {
    public static var json: [UInt8] { PackageResources.openapi_json }
}
