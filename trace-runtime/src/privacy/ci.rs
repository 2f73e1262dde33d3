//! Whether this process runs in a CI job, read from the variables CI systems set.
//!
//! A pure function over an environment lookup, so it is tested with a map instead of by mutating
//! the process environment.

/// The variables CI systems set in every job, checked in this order. `CI` and
/// `CONTINUOUS_INTEGRATION` are the generic ones; the others name one system each.
///
/// ```
/// use trace_runtime::privacy::{CI_VARIABLES, detect_ci};
///
/// assert_eq!(CI_VARIABLES[0], "CI");
/// assert_eq!(detect_ci(|name| (name == "GITHUB_ACTIONS").then(|| "true".to_string())), Some("GITHUB_ACTIONS"));
/// ```
pub const CI_VARIABLES: &[&str] = &[
    "CI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "CIRCLECI",
    "TRAVIS",
    "JENKINS_URL",
    "BUILDKITE",
    "TEAMCITY_VERSION",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",
    "DRONE",
    "APPVEYOR",
    "SEMAPHORE",
    "CIRRUS_CI",
    "BITRISE_IO",
    "BUDDY_WORKSPACE_ID",
    "HEROKU_TEST_RUN_ID",
];

/// The first of [`CI_VARIABLES`] set in `env`, or `None` outside CI.
///
/// A variable counts when it holds anything but an empty string or an explicit no (`0`, `false`,
/// `no`, `off`): `CI=false` is how some developers mark a local shell.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::privacy::detect_ci;
///
/// let job: HashMap<&str, &str> = [("GITHUB_ACTIONS", "true")].into();
/// assert_eq!(detect_ci(|name| job.get(name).map(|v| v.to_string())), Some("GITHUB_ACTIONS"));
/// assert_eq!(detect_ci(|_| None), None);
/// assert_eq!(detect_ci(|name| (name == "CI").then(|| "false".to_string())), None);
/// ```
pub fn detect_ci(env: impl Fn(&str) -> Option<String>) -> Option<&'static str> {
    CI_VARIABLES.iter().copied().find(|name| match env(name) {
        Some(value) => {
            let value = value.trim().to_ascii_lowercase();
            !matches!(value.as_str(), "" | "0" | "false" | "no" | "off")
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(name: &str, value: &str) -> impl Fn(&str) -> Option<String> {
        let (name, value) = (name.to_string(), value.to_string());
        move |n| (n == name).then(|| value.clone())
    }

    #[test]
    fn each_ci_variable_is_detected_on_its_own() {
        for &variable in CI_VARIABLES {
            assert_eq!(detect_ci(only(variable, "true")), Some(variable), "{variable}=true");
            // Systems that set a URL, a build number or a version rather than `true`.
            assert_eq!(detect_ci(only(variable, "https://ci.example/42")), Some(variable));
            assert_eq!(detect_ci(only(variable, "1234")), Some(variable));
        }
    }

    #[test]
    fn empty_and_explicit_no_values_are_not_ci() {
        for value in ["", " ", "0", "false", "FALSE", "no", "off"] {
            assert_eq!(detect_ci(only("CI", value)), None, "CI={value:?}");
        }
        assert_eq!(detect_ci(only("HOME", "/home/ci")), None, "unrelated variables do not count");
    }
}
