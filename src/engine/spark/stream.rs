//! Runs one SQL statement on the server to its end and returns its rows.
//!
//! Spark Connect streams a result in responses and ends a response stream
//! early on purpose: after `spark.connect.execute.reattachable.
//! senderMaxStreamDuration` (2 minutes by default) or `senderMaxStreamSize`,
//! a server-wide setting a client cannot change. The client must then
//! reattach from the last response it got, until a `ResultComplete` says
//! the result is whole. The client crate (4.2.0) reattaches only after a
//! broken connection, not after such an end, so every query running longer
//! than 2 minutes came back with no rows. This follows the protocol as
//! Spark's own Python client does, with the crate's request builder and
//! RPCs, and checks every Arrow batch's row count and offset against what
//! the server says it sent.

use arrow_array::RecordBatch;
use proto::execute_plan_response::ResponseType;
use spark_connect::{Result, SparkError};
use spark_connect_core::SparkConnectClient;
use spark_connect_core::{block_on, ChannelBuilder, ExecutePlanResponseReattachableIterator};
use spark_connect_proto as proto;

/// gRPC's UNAVAILABLE: the connection dropped, the operation may live on.
const UNAVAILABLE: i32 = 14;

/// A second connection to the session the crate's `SparkSession` opened
/// (the same session id, so the same temporary views).
pub struct Results {
    client: SparkConnectClient,
}

impl Results {
    pub fn connect(url: &str, session_id: &str) -> Result<Results> {
        let mut builder = ChannelBuilder::parse(url)?;
        builder.set("session_id", session_id);
        let client = block_on(SparkConnectClient::connect(&builder))?;
        Ok(Results { client })
    }

    /// The server answers a version request within `timeout`: it is alive,
    /// however busy. A frozen server that still accepts connections is not.
    pub fn alive(&self, timeout: std::time::Duration) -> bool {
        let request = proto::AnalyzePlanRequest {
            session_id: self.client.session_id().to_string(),
            user_context: Some(proto::UserContext::default()),
            analyze: Some(proto::analyze_plan_request::Analyze::SparkVersion(
                proto::analyze_plan_request::SparkVersion {},
            )),
            ..Default::default()
        };
        // The timer is made inside the runtime, as tokio requires.
        let asked = block_on(async {
            tokio::time::timeout(timeout, self.client.analyze_plan(request)).await
        });
        matches!(asked, Ok(Ok(_)))
    }

    /// Sets the session's configuration `pairs` (key, value), in one request.
    pub fn set_conf(&self, pairs: &[(&str, &str)]) -> Result<()> {
        use proto::config_request::{operation::OpType, Operation, Set};
        let set = Set {
            pairs: pairs
                .iter()
                .map(|&(key, value)| proto::KeyValue {
                    key: key.to_string(),
                    value: Some(value.to_string()),
                })
                .collect(),
            ..Default::default()
        };
        let request = proto::ConfigRequest {
            session_id: self.client.session_id().to_string(),
            user_context: Some(proto::UserContext::default()),
            operation: Some(Operation {
                op_type: Some(OpType::Set(set)),
            }),
            ..Default::default()
        };
        block_on(self.client.config(request)).map(|_| ())
    }

    /// Runs `query` and returns all its rows: a result the server did not
    /// mark complete, or whose batches do not add up, is an error.
    pub fn run(&self, query: &str) -> Result<Vec<RecordBatch>> {
        let iter = ExecutePlanResponseReattachableIterator::new(self.request(query));
        let out = self.drain(&iter);
        // The server keeps a finished result for reattaching until released.
        let release = block_on(iter.create_release_request(true));
        let _ = block_on(self.client.release_execute(release));
        out
    }

    fn request(&self, query: &str) -> proto::ExecutePlanRequest {
        let sql = proto::Sql {
            query: query.to_string(),
            ..Default::default()
        };
        let relation = proto::Relation {
            common: None,
            rel_type: Some(proto::relation::RelType::Sql(sql)),
        };
        proto::ExecutePlanRequest {
            session_id: self.client.session_id().to_string(),
            user_context: Some(proto::UserContext::default()),
            plan: Some(proto::Plan {
                op_type: Some(proto::plan::OpType::Root(relation)),
            }),
            ..Default::default()
        }
    }

    fn drain(&self, iter: &ExecutePlanResponseReattachableIterator) -> Result<Vec<RecordBatch>> {
        let mut stream = block_on(self.client.execute_plan(iter.request().clone()))?;
        let mut batches = Vec::new();
        let mut rows: i64 = 0;
        let mut drops = 0;
        loop {
            match block_on(stream.message()) {
                Ok(Some(resp)) => {
                    block_on(iter.set_last_response_id(&resp));
                    if let Some(ResponseType::ArrowBatch(batch)) = &resp.response_type {
                        rows += decode(batch, rows, &mut batches)?;
                    }
                    if block_on(iter.is_completed()) {
                        return Ok(batches);
                    }
                }
                // The server ended this stream with more to come: reattach.
                Ok(None) => {
                    let again = block_on(iter.create_reattach_request());
                    stream = block_on(self.client.reattach_execute(again))?;
                }
                // A dropped connection is reattached a few times; an error
                // of the query itself ends the run.
                Err(status) if status.code() as i32 == UNAVAILABLE && drops < 3 => {
                    drops += 1;
                    std::thread::sleep(std::time::Duration::from_millis(200 << drops));
                    let again = block_on(iter.create_reattach_request());
                    stream = block_on(self.client.reattach_execute(again))?;
                }
                Err(status) => return Err(SparkError::from_grpc_status(status)),
            }
        }
    }
}

/// Decodes one Arrow batch response into `out`; returns its rows, checked
/// against the row count and offset the server sent with it.
fn decode(
    batch: &proto::execute_plan_response::ArrowBatch,
    rows_before: i64,
    out: &mut Vec<RecordBatch>,
) -> Result<i64> {
    if batch.num_chunks_in_batch.is_some_and(|n| n != 1) {
        return Err(SparkError::connect_msg(
            "the server sent a result batch in chunks, which this client does not ask for",
        ));
    }
    if let Some(start) = batch.start_offset {
        if start != rows_before {
            return Err(SparkError::connect_msg(format!(
                "a result batch starts at row {start}, but {rows_before} rows came before it"
            )));
        }
    }
    let mut got = 0i64;
    if !batch.data.is_empty() {
        let reader =
            arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(&batch.data), None)
                .map_err(|e| SparkError::connect_msg(format!("cannot read a result batch: {e}")))?;
        for b in reader {
            let b =
                b.map_err(|e| SparkError::connect_msg(format!("cannot read a result batch: {e}")))?;
            got += b.num_rows() as i64;
            out.push(b);
        }
    }
    if got != batch.row_count {
        return Err(SparkError::connect_msg(format!(
            "a result batch holds {got} rows where the server counted {}",
            batch.row_count
        )));
    }
    Ok(got)
}
