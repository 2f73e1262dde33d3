use trace_runtime::trace_pipeline;

mod my_keys {
    trace_runtime::define_keys! {
        pub mod app {
            retries: i64 = "app.retry_count",
        }
    }
}

#[trace_pipeline(name = "billing", element = "charge", fields(my_keys::app::retries = "three"))]
fn charge() {}

fn main() {
    charge();
}
