//! AWS Signature Version 4 for the CloudWatch Logs sink: a signed `Authorization` header.

use std::time::SystemTime;

use aws_lc_rs::{digest, hmac};

/// AWS credentials.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// Signs requests for one region and service.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    pub(crate) credentials: Credentials,
    pub(crate) region: String,
    pub(crate) service: &'static str,
}

impl Signer {
    /// Adds `x-amz-date`, `x-amz-security-token` (with a session token) and `authorization` to
    /// `headers` for a request of `method` to `url` with `body`, signed at `time`. Every header in
    /// `headers` is signed, with `host` from the URL.
    pub(crate) fn sign(
        &self,
        method: &str,
        url: &reqwest::Url,
        headers: &mut Vec<(String, String)>,
        body: &[u8],
        time: SystemTime,
    ) {
        let (credentials, region, service) = (&self.credentials, self.region.as_str(), self.service);
        let stamp = crate::log::rfc3339(time);
        // 2024-12-01T14:30:22.123456Z -> 20241201T143022Z
        let amz_date: String = format!("{}Z", stamp[..19].replace(['-', ':'], ""));
        let date = &amz_date[..8];
        headers.retain(|(name, _)| {
            !matches!(name.to_ascii_lowercase().as_str(), "authorization" | "x-amz-date" | "host")
        });
        headers.push(("x-amz-date".into(), amz_date.clone()));
        if let Some(token) = &credentials.session_token {
            headers.push(("x-amz-security-token".into(), token.clone()));
        }
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let mut canonical: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect();
        canonical.push(("host".into(), host));
        canonical.sort();
        let signed_headers = canonical.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
        let canonical_headers: String = canonical.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let mut query: Vec<(String, String)> =
            url.query_pairs().map(|(k, v)| (uri_encode(&k, true), uri_encode(&v, true))).collect();
        query.sort();
        let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let path = match url.path() {
            "" => "/".to_string(),
            p => uri_encode(p, false),
        };
        let canonical_request = format!(
            "{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
            hex(digest::digest(&digest::SHA256, body).as_ref())
        );
        let scope = format!("{date}/{region}/{service}/aws4_request");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
        );
        let key = signing_key(&credentials.secret_access_key, date, region, service);
        let signature =
            hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), string_to_sign.as_bytes()).as_ref());
        headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    }
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes()).as_ref().to_vec()
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), date);
    let k_region = step(&k_date, region);
    let k_service = step(&k_region, service);
    step(&k_service, "aws4_request")
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, `/` kept in paths.
fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// The signing-key example of the AWS SigV4 documentation.
    #[test]
    fn signing_key_matches_the_aws_example() {
        let key = signing_key(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(hex(&key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    }

    /// The IAM `ListUsers` example of the AWS SigV4 documentation.
    #[test]
    fn signature_matches_the_aws_example() {
        let url =
            reqwest::Url::parse("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08").unwrap();
        let mut headers = vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )];
        let credentials = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SECRET.into(),
            session_token: None,
        };
        // 2015-08-30T12:36:00Z
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let signer = Signer { credentials, region: "us-east-1".into(), service: "iam" };
        signer.sign("GET", &url, &mut headers, b"", time);
        let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap();
        assert_eq!(
            auth.1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert!(headers.iter().any(|(n, v)| n == "x-amz-date" && v == "20150830T123600Z"));
    }
}
