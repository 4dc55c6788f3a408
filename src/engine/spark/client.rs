//! The client: one worker thread owns the Spark Connect session, and every
//! call waits for it with a deadline (`--engine-timeout`); a server that
//! stops answering is told apart from a long query by a version request.

use super::*;

/// The client's two connections to one session: the crate's session for
/// statements, schemas and sent tables, and `Results` for rows.
pub(crate) struct Link {
    pub(crate) session: SparkSession,
    pub(crate) results: stream::Results,
}

pub(crate) type Call = Box<dyn FnOnce(&Link) + Send>;

/// A connected Spark Connect session, owned by its worker thread; `probe`
/// asks the server whether it is alive while the worker waits.
pub struct Spark {
    pub(crate) addr: SparkAddress,
    pub(crate) timeout: Duration,
    pub(crate) jobs: mpsc::Sender<Call>,
    pub(crate) probe: stream::Results,
    /// The session's id, which a connection of its own (`beside`) joins.
    pub(crate) session_id: String,
    /// The tables kept on the server (`keep`), freed by `free`.
    pub(crate) kept: std::sync::Mutex<Vec<String>>,
}

impl Spark {
    /// Checks the address and connects, each step within `timeout`.
    pub fn connect(addr: &SparkAddress, timeout: Duration) -> Result<Spark, LoadError> {
        reachable(addr, timeout)?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (jobs, rx) = mpsc::channel::<Call>();
        let url = addr.url().to_string();
        std::thread::Builder::new()
            .name("spark-connect".into())
            .spawn(move || {
                let link = SparkSession::builder()
                    .remote(&url)
                    .get_or_create()
                    .and_then(|session| {
                        let results = stream::Results::connect(&url, session.session_id())?;
                        Ok(Link { session, results })
                    });
                let link = match link {
                    Ok(l) => {
                        let _ = ready_tx.send(Ok(l.session.session_id().to_string()));
                        l
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                for job in rx {
                    job(&link);
                }
            })
            .map_err(|e| LoadError::Engine(format!("cannot start the Spark client: {e}")))?;
        let session_id = match ready_rx.recv_timeout(timeout) {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => return Err(fail(addr, "cannot connect", &e)),
            Err(_) => return Err(no_answer(addr, "connecting", timeout)),
        };
        let probe = stream::Results::connect(addr.url(), &session_id)
            .map_err(|e| fail(addr, "cannot connect", &e.to_string()))?;
        let spark = Spark {
            addr: addr.clone(),
            timeout,
            jobs,
            probe,
            session_id,
            kept: Default::default(),
        };
        // A server that takes the connection but never answers is found here.
        spark.call("asking its version", |l| l.session.version().map(|_| ()))?;
        let settings = [
            ("spark.sql.session.timeZone", "UTC"),
            ("spark.sql.ansi.enabled", "false"),
            ("spark.sql.parquet.inferTimestampNTZ.enabled", "true"),
            // Kept tables are read a few times and dropped: compressing
            // their columns took more time than it saved (measured on a
            // 3M-event log: 10.5-12.5 s to cache the parsed input, 5.5-6 s
            // uncompressed, read as fast).
            ("spark.sql.inMemoryColumnarStorage.compressed", "false"),
            // A table kept from a shuffle (spans, by session) otherwise keeps
            // its 200 partitions, and every step reading it runs 200 tasks:
            // the day and hour parts took 12.5 s instead of 4.
            (
                "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning",
                "true",
            ),
        ];
        // All in one request: a `SET` statement each took a round trip.
        crate::trace::stage("spark: setting up the session");
        for (key, value) in settings {
            crate::trace::text(&format!("SET {key}={value}"));
        }
        spark.wait("setting up the session", move |l| {
            l.results.set_conf(&settings)
        })?;
        Ok(spark)
    }

    /// Runs `f` on the worker; no answer within the timeout is an error.
    /// Used until the server has answered once.
    pub(crate) fn call<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&Link) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<T, LoadError> {
        self.answer(what, self.submit(f)?, false)
    }

    /// Runs `f` on a server that has answered before: a busy server may take
    /// long, so it is waited for as long as it answers a version request
    /// within the timeout, asked once per timeout; a server gone or frozen
    /// is an error within twice the timeout.
    pub(crate) fn wait<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&Link) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<T, LoadError> {
        self.answer(what, self.submit(f)?, true)
    }

    pub(crate) fn answer<T>(
        &self,
        what: &str,
        rx: mpsc::Receiver<spark_connect::Result<T>>,
        patient: bool,
    ) -> Result<T, LoadError> {
        loop {
            match rx.recv_timeout(self.timeout) {
                Ok(r) => return r.map_err(|e| fail(&self.addr, what, &e.to_string())),
                Err(mpsc::RecvTimeoutError::Timeout) if patient => {
                    if !self.probe.alive(self.timeout) {
                        return Err(no_answer(&self.addr, what, self.timeout));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(no_answer(&self.addr, what, self.timeout))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(fail(&self.addr, what, "the client stopped"))
                }
            }
        }
    }

    /// Runs a query and returns its rows.
    pub(crate) fn query(&self, what: &str, text: String) -> Result<Vec<RecordBatch>, LoadError> {
        crate::trace::stage(&format!("spark: {what}"));
        crate::trace::text(&text);
        self.wait(what, move |l| l.results.run(&text))
    }

    /// Starts a query on a connection of its own to the session, beside
    /// what the worker runs: a small query waits for the server's answer
    /// while a long one keeps it busy, instead of after it. `answer`
    /// (patient) takes its rows.
    pub(crate) fn beside(
        &self,
        what: &str,
        text: String,
    ) -> Result<mpsc::Receiver<spark_connect::Result<Vec<RecordBatch>>>, LoadError> {
        crate::trace::stage(&format!("spark: {what} (beside)"));
        crate::trace::text(&text);
        let (tx, rx) = mpsc::channel();
        let (url, session_id) = (self.addr.url().to_string(), self.session_id.clone());
        std::thread::Builder::new()
            .name("spark-beside".into())
            .spawn(move || {
                let rows = stream::Results::connect(&url, &session_id).and_then(|r| r.run(&text));
                let _ = tx.send(rows);
            })
            .map_err(|e| fail(&self.addr, what, &format!("cannot start a thread: {e}")))?;
        Ok(rx)
    }

    /// Runs an aggregate query that gives one row, and returns its integer
    /// columns `names` (null where the aggregate is).
    pub(crate) fn scalars<const N: usize>(
        &self,
        what: &str,
        text: String,
        names: [&str; N],
    ) -> Result<[Option<i64>; N], LoadError> {
        let batches = self.query(what, text)?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let Some(b) = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .filter(|_| rows == 1)
        else {
            return Err(fail(
                &self.addr,
                what,
                &format!("{rows} rows came back where one was expected"),
            ));
        };
        Ok(names.map(|n| opt(i64s(b, n), 0)))
    }

    /// Runs a statement (a view's definition) for its effect.
    pub(crate) fn exec(&self, what: &str, text: String) -> Result<(), LoadError> {
        crate::trace::stage(&format!("spark: {what}"));
        crate::trace::text(&text);
        self.wait(what, move |l| l.results.run(&text).map(|_| ()))
    }

    /// Runs `body` and keeps its rows on the server as the table `name`
    /// (cached: in memory, spilling to disk), read by the steps after it
    /// (SPEC 15.1), until `free`.
    pub(crate) fn keep(&self, what: &str, name: &str, body: String) -> Result<(), LoadError> {
        // Freed even when this fails: a step cut off by the deadline may
        // still finish on the server.
        self.kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.to_string());
        self.exec(what, format!("CACHE TABLE {name} AS {body}"))
    }

    /// Lets go of the tables a run kept, however it ended.
    ///
    /// (A local checkpoint kept the parsed input faster still, but Spark
    /// frees a checkpoint's blocks only when its garbage collector finds
    /// them: a server running many reports filled its disk with them.)
    pub(crate) fn free(&self) {
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()));
        for name in kept {
            let _ = self.exec(
                "freeing the kept tables",
                format!("UNCACHE TABLE IF EXISTS {name}"),
            );
        }
    }

    pub(crate) fn view(&self, name: &str, body: &str) -> Result<(), LoadError> {
        self.exec(
            &format!("defining {name}"),
            format!("CREATE OR REPLACE TEMPORARY VIEW {name} AS {body}"),
        )
    }

    pub(crate) fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Link) -> spark_connect::Result<T> + Send + 'static,
    ) -> Result<mpsc::Receiver<spark_connect::Result<T>>, LoadError> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move |s| {
                let _ = tx.send(f(s));
            }))
            .map_err(|_| fail(&self.addr, "sending a request", "the client stopped"))?;
        Ok(rx)
    }
}

/// The server's port accepts a TCP connection within `timeout`.
pub(crate) fn reachable(addr: &SparkAddress, timeout: Duration) -> Result<(), LoadError> {
    let targets = (addr.host.as_str(), addr.port)
        .to_socket_addrs()
        .map_err(|e| fail(addr, "cannot resolve the host", &e.to_string()))?;
    let mut last = String::from("the host has no address");
    for t in targets {
        match TcpStream::connect_timeout(&t, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(addr, "cannot reach the server", &last))
}

pub(crate) fn fail(addr: &SparkAddress, what: &str, reason: &str) -> LoadError {
    let reason = reason.lines().next().unwrap_or("").trim();
    LoadError::Engine(addr.scrub(&format!("Spark Connect server {addr}: {what}: {reason}")))
}

pub(crate) fn no_answer(addr: &SparkAddress, what: &str, timeout: Duration) -> LoadError {
    LoadError::Engine(format!(
        "Spark Connect server {addr}: no answer within --engine-timeout {}s while {what}",
        timeout.as_secs_f64()
    ))
}
