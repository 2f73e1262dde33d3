use trace_runtime::trace_pipeline;

mod my_keys {
    trace_runtime::define_keys! {
        pub mod app {
            tenant: String,
        }
    }
}

#[trace_pipeline(name = "billing", element = "charge", fields(my_keys::app::tenat = "acme"))]
fn charge() {}

fn main() {
    charge();
}
