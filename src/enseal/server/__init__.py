"""enseal.server"""
