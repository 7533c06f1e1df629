"""What runs the model: batch prediction, the API, drift monitoring, champion/challenger."""
