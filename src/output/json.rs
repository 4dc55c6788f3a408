//! The endpoint's response body (SPEC 4): exactly its keys, in its order, with
//! .NET timespans and dates in the zone's offset.

use crate::kernel::SessionStats;
use crate::model::SessionMeta;
use crate::time::{format_endpoint_date, format_timespan, Zone};
use serde::Serialize;
use std::io::{self, Write};

/// One session as the endpoint writes it; field order is the wire order.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSession<'a> {
    pub duration: String,
    pub idle_time: String,
    pub productivity_time: String,
    pub client_guid: &'a str,
    pub client_name: &'a str,
    pub logout_date: String,
    pub login_date: String,
    pub session_id: i32,
    pub user_name: &'a str,
    pub user_id: i32,
}

/// The response: one page of sessions and the size of the whole selection.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response<'a> {
    pub sessions: Vec<EndpointSession<'a>>,
    pub total_count: usize,
}

impl<'a> EndpointSession<'a> {
    pub fn new(m: &'a SessionMeta, st: &SessionStats, zone: &Zone) -> Self {
        EndpointSession {
            duration: format_timespan(st.duration()),
            idle_time: format_timespan(st.idle()),
            productivity_time: format_timespan(st.productive),
            client_guid: &m.client_guid,
            client_name: &m.client_name,
            logout_date: format_endpoint_date(st.logout, zone),
            login_date: format_endpoint_date(st.login, zone),
            session_id: m.session_id,
            user_name: &m.user_name,
            user_id: m.user_id,
        }
    }
}

impl<'a> Response<'a> {
    /// `metas[st.session]` holds each session's attributes.
    pub fn new(
        metas: &'a [SessionMeta],
        page: &[SessionStats],
        total_count: usize,
        zone: &Zone,
    ) -> Self {
        Response {
            sessions: page
                .iter()
                .map(|st| EndpointSession::new(&metas[st.session as usize], st, zone))
                .collect(),
            total_count,
        }
    }

    /// Compact JSON, or indented with two spaces; no trailing newline (the
    /// caller adds one for a terminal or a file).
    pub fn write<W: Write>(&self, mut w: W, pretty: bool) -> io::Result<()> {
        if pretty {
            serde_json::to_writer_pretty(&mut w, self)?;
        } else {
            serde_json::to_writer(&mut w, self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{select, Grouped, Settings};
    use crate::model::{pack, Kind, SessionMeta};
    use crate::time::US_PER_SEC;

    #[test]
    fn key_order_and_formats_match_the_endpoint() {
        let g = Grouped::from_rows(
            &[0, 0],
            &[
                pack(948_603_367 * US_PER_SEC, Kind::Login),
                pack(948_603_367 * US_PER_SEC + 654_000, Kind::Logout),
            ],
            vec![SessionMeta {
                session_id: 613,
                user_id: 19,
                user_name: "username1".into(),
                client_guid: "5d4fe546".into(),
                client_name: "clientname1".into(),
                ..SessionMeta::default()
            }],
        );
        let sel = select(&g, &Settings::whole(Some(US_PER_SEC)));
        let mut out = Vec::new();
        Response::new(&g.sessions, &sel, 4, &Zone::default())
            .write(&mut out, false)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"sessions":[{"duration":"00:00:00.6540000","idleTime":"00:00:00","productivityTime":"00:00:00.6540000","clientGuid":"5d4fe546","clientName":"clientname1","logoutDate":"2000-01-23T04:56:07.654+00:00","loginDate":"2000-01-23T04:56:07.000+00:00","sessionId":613,"userName":"username1","userId":19}],"totalCount":4}"#
        );
    }
}
