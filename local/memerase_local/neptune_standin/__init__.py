"""The Neptune Analytics stand-in: boto3's `neptune-graph` ExecuteQuery served over HTTP, openCypher evaluated by a
throwaway FalkorDB. A local tool (tests, `memerase serve`, `memerase demo`): the Lambda layer never imports it."""
